"""Shared plumbing of the COCO captioning tasks (no task is registered here).

Protocol `ddit` (default) is the paper's: nothing fixed, every text position
masked, 64 steps and the model's whole text window (its defaults; 128 tokens
for the released model).  `lmms-eval` prompts for a caption and bounds it at
64 new tokens, so it is an answer request.
"""

from __future__ import annotations

from typing import Any, ClassVar, Sequence

from ddit_eval.api import ANSWER, CAPTION, AnswerRequest, CaptionRequest, Evaluation, Sample, Task
from ddit_eval.prompts import TEXT_WINDOW
from ddit_eval.settings import one_of, optional_int

from ._hub_common import with_answer_health

LMMS_CAPTION_PROMPT = "Provide a one-sentence caption for the provided image."
LMMS_CAPTION_LENGTH = 64


class CaptionTask(Task):
    """Captioning scored with pycocoevalcap (BLEU-1..4, METEOR, ROUGE-L, CIDEr, x100); needs Java."""

    primary_metric = "CIDEr"
    request_kind = CAPTION
    caption_settings: ClassVar[dict[str, Any]] = {"protocol": "ddit", "steps": None, "caption_length": None}
    caption_checks: ClassVar[dict] = {"protocol": one_of(("ddit", "lmms-eval")), "steps": optional_int(1),
                                      "caption_length": optional_int(1, TEXT_WINDOW)}

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        if self.settings["protocol"] == "lmms-eval":
            self.request_kind = ANSWER  # lmms-eval prompts for the caption: fill after a fixed prompt

    def build_request(self, sample: Sample, seed: int):
        s = self.settings
        if s["protocol"] == "ddit":
            return CaptionRequest(id=sample.id, image=self.image(sample), seed=seed, steps=s["steps"], length=s["caption_length"])
        length = LMMS_CAPTION_LENGTH if s["caption_length"] is None else s["caption_length"]
        return AnswerRequest(id=sample.id, image=self.image(sample), prompt=LMMS_CAPTION_PROMPT, seed=seed,
                             steps=s["steps"], answer_length=length)

    def evaluate(self, records: Sequence[dict]) -> Evaluation:
        from ddit_eval.metrics.captioning import CaptionMetrics

        metric = CaptionMetrics()
        metric.update([str(r["prediction"]) for r in records], [r["answer"] for r in records])
        metrics = metric.compute()
        notes = []
        if len(records) < self.table.provenance["rows"]:
            notes.append(f"captioning metrics on {len(records)} of {self.table.provenance['rows']} images: CIDEr's "
                         "document frequencies come from the evaluated set, so subset scores differ from full-set ones")
        return with_answer_health(Evaluation(metrics, metric.per_sample(), notes), records)

    def preflight(self) -> None:
        from ddit_eval.metrics.captioning import require_java

        require_java()

    def config(self) -> dict:
        from ddit_eval.metrics.captioning import CaptionMetrics

        s = self.settings
        prompt = None if s["protocol"] == "ddit" else LMMS_CAPTION_PROMPT
        length = s["caption_length"] if s["protocol"] == "ddit" or s["caption_length"] is not None else LMMS_CAPTION_LENGTH
        return {**super().config(), "protocol": s["protocol"], "prompt_template": prompt, "caption_length": length,
                "steps": s["steps"], **CaptionMetrics().config()}
