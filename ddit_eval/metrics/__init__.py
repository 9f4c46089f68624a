"""Scorers shared by every benchmark: metric objects with update / compute / reset / per_sample.

- `VQAAccuracy` (vqa.py): official VQA accuracy, rules "official" and "always-normalise".
- `CaptionMetrics` (captioning.py): BLEU-1..4, METEOR, ROUGE-L, CIDEr via pycocoevalcap (Java).
- `PopeMetrics`, `MMEScore` (yesno.py): yes/no benchmarks, parse rules "pope" (POPE default),
  "ddit_vqa", "mme" (MME default), "lmms_eval_mme" (alias "lmms_eval"), "exact" (alias "lmms_eval_pope").
- `GQAAccuracy` (gqa.py): GQA exact match, rules "llava" (default), "official", "lmms_eval", and extras.
- `answer_health` (answers.py): shares of empty and unparsed answers, with examples.
- `GenEvalScore` (geneval.py): GenEval clause rules with pluggable `Detector` / `ColorClassifier`.
"""

from .base import Metric
from .captioning import CaptionMetrics
from .geneval import ColorClassifier, Detection, Detector, GenEvalScore
from .answers import answer_health, is_empty_answer
from .gqa import GQA_RULES, GQAAccuracy, gqa_match
from .vqa import VQAAccuracy, answer_texts, normalize_answer, vqa_accuracy
from .yesno import PARSE_RULES, MMEScore, PopeMetrics, is_unparsed, parse_yes_no

__all__ = ["CaptionMetrics", "ColorClassifier", "Detection", "Detector", "GQAAccuracy", "GQA_RULES", "GenEvalScore",
           "MMEScore", "Metric", "PARSE_RULES", "PopeMetrics", "VQAAccuracy", "answer_health", "answer_texts",
           "gqa_match", "is_empty_answer", "is_unparsed", "normalize_answer", "parse_yes_no", "vqa_accuracy"]
