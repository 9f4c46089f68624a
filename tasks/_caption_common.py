"""Shared plumbing of the COCO captioning tasks (no task is registered here).

Protocol `ddit` (default) is the paper's: nothing fixed, every text position
masked, 64 steps and the model's whole text window (its defaults; 128 tokens
for the released model).  `lmms-eval` prompts for a caption and bounds it at
64 new tokens, so it is an answer request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

from ddit_eval.api import ANSWER, CAPTION, AnswerRequest, CaptionRequest, Evaluation, Sample, Task
from ddit_eval.prompts import TEXT_WINDOW
from ddit_eval.settings import Settings, setting

from ._answer_common import with_answer_health

LMMS_CAPTION_PROMPT = "Provide a one-sentence caption for the provided image."
LMMS_CAPTION_LENGTH = 64


@dataclass(frozen=True)
class CaptionSettings(Settings):
    """How the model is asked for a caption (COCO tasks and shapes-caption)."""

    protocol: str = setting("ddit", "caption protocol: ddit (nothing fixed, the whole text window) or lmms-eval "
                            "(a caption prompt, 64 tokens)", choices=("ddit", "lmms-eval"))
    steps: Optional[int] = setting(None, "text-diffusion steps of the caption (none: the model's default)", minimum=1)
    caption_length: Optional[int] = setting(None, "text positions the caption fills (none: the protocol's)",
                                            minimum=1, maximum=TEXT_WINDOW)


class CaptionTask(Task):
    """Captioning scored with pycocoevalcap (BLEU-1..4, METEOR, ROUGE-L, CIDEr, x100); needs Java."""

    primary_metric = "CIDEr"
    request_kind = CAPTION
    settings_type = CaptionSettings

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        if self.settings.protocol == "lmms-eval":
            self.request_kind = ANSWER  # lmms-eval prompts for the caption: fill after a fixed prompt

    def build_request(self, sample: Sample, seed: int):
        s = self.settings
        if s.protocol == "ddit":
            return CaptionRequest(id=sample.id, image=self.image(sample), seed=seed, steps=s.steps, length=s.caption_length)
        length = LMMS_CAPTION_LENGTH if s.caption_length is None else s.caption_length
        return AnswerRequest(id=sample.id, image=self.image(sample), prompt=LMMS_CAPTION_PROMPT, seed=seed,
                             steps=s.steps, answer_length=length)

    def evaluate(self, records: Sequence[dict]) -> Evaluation:
        from ddit_eval.metrics.captioning import CaptionMetrics

        metric = CaptionMetrics()
        metric.update([str(r["prediction"]) for r in records], [r["answer"] for r in records])
        notes, total = [], self.image_count()
        if len(records) < total:
            notes.append(f"captioning metrics on {len(records)} of {total} images: CIDEr's "
                         "document frequencies come from the evaluated set, so subset scores differ from full-set ones")
        return with_answer_health(Evaluation.of(metric, notes=notes), records)

    def image_count(self) -> int:
        """The images of the whole split (a subset's CIDEr is noted as such)."""
        return self.table.provenance["rows"]

    def preflight(self) -> None:
        """Scoring needs Java: say so before any caption is generated, not after."""
        from ddit_eval.metrics.captioning import require_java

        require_java()

    def config(self) -> dict:
        from ddit_eval.metrics.captioning import CaptionMetrics

        s = self.settings
        prompt = None if s.protocol == "ddit" else LMMS_CAPTION_PROMPT
        length = s.caption_length if s.protocol == "ddit" or s.caption_length is not None else LMMS_CAPTION_LENGTH
        return {**super().config(), "protocol": s.protocol, "prompt_template": prompt, "caption_length": length,
                "steps": s.steps, **CaptionMetrics().config()}
