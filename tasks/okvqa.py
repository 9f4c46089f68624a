"""okvqa: OK-VQA val2014 (5,046 questions), official VQA accuracy over its 10 answers."""

from dataclasses import dataclass

from ddit_eval.registry import register_task

from ._hub_common import DDIT_VQA, LMMS_UNANSWERABLE, HubVQASettings, HubVQATask, Protocol, also_works


@dataclass(frozen=True)
class OKVQASettings(HubVQASettings):
    dataset: str = HubVQASettings.with_default("dataset", "lmms-lab/OK-VQA")
    split: str = HubVQASettings.with_default("split", "val2014")


@register_task
class OKVQA(HubVQATask):
    name = "okvqa"
    description = "OK-VQA val2014: official VQA accuracy (x100) over its 10 answers"
    data_source = also_works("OK-VQA") + ", split val2014"
    doc_columns = ("question_id", "question", "answers")
    reference_columns = ("answers",)
    protocols = {"ddit": Protocol(DDIT_VQA), "lmms-eval": Protocol(LMMS_UNANSWERABLE)}
    settings_type = OKVQASettings
