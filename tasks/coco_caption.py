"""coco-caption: COCO Karpathy test (5,000 images), the usual captioning report; CIDEr as in the paper.

Reads the standard Karpathy split file (`dataset_coco.json`) and a local COCO
images folder: `--set coco-caption.karpathy_file=... --set coco-caption.images_dir=...`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Iterator, Optional

from ddit_eval.api import Sample
from ddit_eval.data import KarpathySplit
from ddit_eval.errors import UsageError
from ddit_eval.registry import register_task
from ddit_eval.settings import existing_path, setting

from ._caption_common import CaptionSettings, CaptionTask


@dataclass(frozen=True)
class CocoCaptionSettings(CaptionSettings):
    karpathy_file: Optional[str] = setting(None, "Karpathy's split file dataset_coco.json (required to run)",
                                           check=existing_path("Karpathy split file (dataset_coco.json)"))
    images_dir: Optional[str] = setting(None, "the local COCO images folder, holding val2014/ (required to run)",
                                        check=existing_path("COCO images folder"))
    split: str = setting("test", "the Karpathy split captioned")


@register_task
class CocoCaption(CaptionTask):
    name = "coco-caption"
    description = "COCO Karpathy test captioning: CIDEr (x100), BLEU-1..4, METEOR, ROUGE-L"
    data_source = "Karpathy split file dataset_coco.json + a local COCO images folder (set karpathy_file, images_dir)"
    dataset_id = "karpathy"
    settings_type = CocoCaptionSettings

    @cached_property
    def table(self) -> KarpathySplit:
        s = self.settings
        if not s.karpathy_file or not s.images_dir:
            raise UsageError("coco-caption reads local files: --set coco-caption.karpathy_file=PATH/dataset_coco.json "
                             "--set coco-caption.images_dir=PATH (the folder holding val2014/)")
        return KarpathySplit(s.karpathy_file, s.images_dir, s.split)

    def sample_id(self, row: dict) -> str:
        return str(row["cocoid"])

    def samples(self) -> Iterator[Sample]:
        for index, row in enumerate(self.table.rows()):
            yield Sample(id=self.sample_id(row), doc={**row, "row": index})

    def image(self, sample: Sample):
        return self.table.image(sample.doc["row"])

    def config(self) -> dict:
        return {**super().config(), "dataset": self.table.provenance}
