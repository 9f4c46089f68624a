"""coco2017-caption: COCO 2017 val captions (5,000 images, 5 references each), CIDEr as in the paper."""

from ddit_eval.registry import register_task

from ._caption_common import CaptionTask
from ._hub_common import DATA_CHECKS, HubTask, also_works, data_settings


@register_task
class Coco2017Caption(CaptionTask, HubTask):
    name = "coco2017-caption"
    description = "COCO 2017 val captioning: CIDEr (x100), BLEU-1..4, METEOR, ROUGE-L"
    data_source = also_works("COCO-Caption2017") + ", split val"
    doc_columns = ("question_id", "answer")
    default_settings = {**data_settings("lmms-lab/COCO-Caption2017", "val"), **CaptionTask.caption_settings}
    setting_checks = {**DATA_CHECKS, **CaptionTask.caption_checks}
