"""vqav2: VQAv2 validation (214,354 questions), official VQA accuracy, per answer type."""

from dataclasses import dataclass

from ddit_eval.registry import register_task

from ._hub_common import HubVQASettings, HubVQATask, also_works


@dataclass(frozen=True)
class VQAv2Settings(HubVQASettings):
    dataset: str = HubVQASettings.with_default("dataset", "lmms-lab/VQAv2")
    split: str = HubVQASettings.with_default("split", "validation")


@register_task
class VQAv2(HubVQATask):
    name = "vqav2"
    description = "VQAv2 validation: official VQA accuracy (x100), per answer type"
    data_source = also_works("VQAv2") + ", split validation"
    doc_columns = ("question_id", "image_id", "question", "answers", "answer_type", "question_type", "multiple_choice_answer")
    reference_columns = ("answers", "multiple_choice_answer")
    group_column = "answer_type"
    settings_type = VQAv2Settings
