"""shapes-caption: COCO-style captioning of shape scenes (5 references), pycocoevalcap metrics.

Documents have the columns of lmms-eval's COCO-Caption2017: question_id (the image's
file name) and answer (the 5 reference captions), plus the scene.
"""

from __future__ import annotations

from typing import Iterator, Sequence

from ddit_eval.api import CAPTION, CaptionRequest, Evaluation, Sample, Task
from ddit_eval.prompts import TEXT_WINDOW
from ddit_eval.registry import register_task
from ddit_eval.settings import integer, optional_int

from ._shapes_common import ShapesAnswerTask, render_doc


@register_task
class ShapesCaption(ShapesAnswerTask):
    name = "shapes-caption"
    description = "captioning of synthetic shape scenes: 5 references each, BLEU/METEOR/ROUGE-L/CIDEr (x100)"
    primary_metric = "CIDEr"
    request_kind = CAPTION
    default_settings = {"seed": 0, "resolution": 64, "steps": None, "caption_length": None, "num_images": 100}
    setting_checks = {"seed": integer(), "resolution": integer(8), "steps": optional_int(1),
                      "caption_length": optional_int(1, TEXT_WINDOW), "num_images": integer(1)}

    def samples(self) -> Iterator[Sample]:
        from ddit_eval.shapes import captions, iter_scenes

        for i, scene in zip(range(self.settings["num_images"]), iter_scenes(self.settings["seed"] + 1, "test")):
            yield Sample(id=f"caption-{i:05d}", doc={"scene": scene.to_dict(), "question_id": f"shapes-{i:05d}.png",
                                                      "answer": captions(scene)})

    def build_request(self, sample: Sample, seed: int) -> CaptionRequest:
        return CaptionRequest(id=sample.id, image=render_doc(sample.doc, self.settings["resolution"]), seed=seed,
                              steps=self.settings["steps"], length=self.settings["caption_length"])

    def evaluate(self, records: Sequence[dict]) -> Evaluation:
        from ddit_eval.metrics.captioning import CaptionMetrics

        metric = CaptionMetrics()
        metric.update([str(r["prediction"]) for r in records], [r["answer"] for r in records])
        metrics = metric.compute()
        notes = []
        if len(records) < self.settings["num_images"]:
            notes.append(f"captioning metrics on {len(records)} of {self.settings['num_images']} images: CIDEr's "
                         "document frequencies come from the evaluated set, so subset scores differ from full-set ones")
        return Evaluation(metrics, metric.per_sample(), notes)

    def preflight(self) -> None:
        """Scoring needs Java: say so before any caption is generated, not after."""
        from ddit_eval.metrics.captioning import require_java

        require_java()

    def config(self) -> dict:
        from ddit_eval.metrics.captioning import CaptionMetrics

        return {**Task.config(self), "prompt_template": None, **CaptionMetrics().config()}

    def bar_metric(self, key: str) -> bool:
        return key in ("BLEU-4", "METEOR", "ROUGE-L", "CIDEr")
