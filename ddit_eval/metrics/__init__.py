"""Scorers shared by every benchmark: metric objects with update / compute / reset / per_sample.

- `VQAAccuracy` (vqa.py): official VQA accuracy, rules "official" and "always-normalise".
- `CaptionMetrics` (captioning.py): BLEU-1..4, METEOR, ROUGE-L, CIDEr via pycocoevalcap (Java).
- `PopeMetrics`, `MMEScore` (yesno.py): yes/no benchmarks, parse rules "ddit", "lmms_eval", "exact".
- `GenEvalScore` (geneval.py): GenEval clause rules with pluggable `Detector` / `ColorClassifier`.
"""

from .base import Metric
from .captioning import CaptionMetrics
from .geneval import ColorClassifier, Detection, Detector, GenEvalScore
from .vqa import VQAAccuracy, answer_texts, normalize_answer, vqa_accuracy
from .yesno import MMEScore, PopeMetrics, parse_yes_no

__all__ = ["CaptionMetrics", "ColorClassifier", "Detection", "Detector", "GenEvalScore", "MMEScore", "Metric",
           "PopeMetrics", "VQAAccuracy", "answer_texts", "normalize_answer", "parse_yes_no", "vqa_accuracy"]
