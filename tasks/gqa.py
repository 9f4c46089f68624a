"""gqa: GQA test-dev balanced (12,578 questions), exact-match accuracy, per question type.

The questions config is joined to the images config on `imageId` through an
id -> row map built from the id column alone (no image is decoded to join).
Default rule `llava` (LLaVA's conversion, then the official exact match), which
most papers in D-DiT's table report; `official` and `lmms_eval` by name.  Note:
D-DiT's SFT data loads GQA's test-dev questions file (possible contamination).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Optional, Sequence

from ddit_eval.api import Evaluation, Sample
from ddit_eval.data import DataRef, Table, open_table
from ddit_eval.metrics.gqa import GQA_RULES
from ddit_eval.registry import register_task
from ddit_eval.settings import setting

from ._hub_common import HubAnswerSettings, HubAnswerTask, also_works, with_answer_health

EXTRA_FIELDS = ("types", "groups", "semantic", "entailed")  # hub columns the official extras read
CONTAMINATION = "D-DiT's SFT data includes GQA's test-dev questions file: scores may be inflated"


@dataclass(frozen=True)
class GQASettings(HubAnswerSettings):
    dataset: str = HubAnswerSettings.with_default("dataset", "lmms-lab/GQA")
    config: Optional[str] = HubAnswerSettings.with_default("config", "testdev_balanced_instructions")
    split: str = HubAnswerSettings.with_default("split", "testdev")
    images_config: str = setting("testdev_balanced_images", "hub config holding the images (joined on imageId)")
    gqa_rule: str = setting("llava", "answer matching: llava (LLaVA's conversion, then official), official, lmms_eval",
                            choices=GQA_RULES)


@register_task
class GQA(HubAnswerTask):
    name = "gqa"
    description = "GQA test-dev balanced: exact-match accuracy (x100), per question type, and consistency"
    data_source = also_works("GQA") + ", configs testdev_balanced_instructions + testdev_balanced_images, split testdev"
    primary_metric = "accuracy"
    doc_columns = ("id", "imageId", "question", "answer")
    settings_type = GQASettings

    stratum_name = "structural type"

    def sample_id(self, row: dict) -> str:
        return str(row["id"])

    def stratum(self, sample: Sample) -> Optional[str]:
        """The question's structural type (verify, query, choose, logical, compare), where the data has it."""
        types = sample.doc.get("types")
        return types.get("structural") if isinstance(types, dict) else None

    def sample_columns(self) -> tuple[str, ...]:
        return super().sample_columns() + tuple(c for c in EXTRA_FIELDS if c in self.table.columns)  # where present

    @cached_property
    def images(self) -> Table:
        s = self.settings
        table = open_table(DataRef(s.dataset, s.split, s.images_config, s.revision))
        table.require(("id", "image"))
        return table

    @cached_property
    def image_rows(self) -> dict[str, int]:
        return {str(image_id): i for i, image_id in enumerate(self.images.column("id"))}

    def image(self, sample: Sample):
        image_id = str(sample.doc["imageId"])
        if image_id not in self.image_rows:
            raise KeyError(f"imageId {image_id!r} is not in {self.settings.images_config}")
        return self.images.image(self.image_rows[image_id])

    def evaluate(self, records: Sequence[dict]) -> Evaluation:
        from ddit_eval.metrics.gqa import GQAAccuracy

        metric = GQAAccuracy(rule=self.settings.gqa_rule)
        metric.update([str(r["prediction"]) for r in records], [r["answer"] for r in records],
                      [{k: r[k] for k in ("id", "question", *EXTRA_FIELDS) if k in r} for r in records])
        evaluation = Evaluation.of(metric, notes=[CONTAMINATION])
        return with_answer_health(evaluation, records)

    def config(self) -> dict:
        return {**super().config(), "images": self.images.provenance}

    def scoring(self) -> dict:
        return {"gqa_rule": self.settings.gqa_rule}
