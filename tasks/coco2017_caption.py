"""coco2017-caption: COCO 2017 val captions (5,000 images, 5 references each), CIDEr as in the paper."""

from dataclasses import dataclass

from ddit_eval.registry import register_task

from ._caption_common import CaptionSettings, CaptionTask
from ._hub_common import HubData, HubTask, also_works


@dataclass(frozen=True)
class Coco2017CaptionSettings(CaptionSettings, HubData):
    dataset: str = HubData.with_default("dataset", "lmms-lab/COCO-Caption2017")
    split: str = HubData.with_default("split", "val")


@register_task
class Coco2017Caption(CaptionTask, HubTask):
    name = "coco2017-caption"
    description = "COCO 2017 val captioning: CIDEr (x100), BLEU-1..4, METEOR, ROUGE-L"
    data_source = also_works("COCO-Caption2017") + ", split val"
    doc_columns = ("question_id", "answer")
    settings_type = Coco2017CaptionSettings
