"""vizwiz: VizWiz-VQA val (4,319 questions), VQA accuracy with the "unanswerable" mapping, per category."""

from dataclasses import dataclass

from ddit_eval.registry import register_task

from ._hub_common import DDIT_VIZWIZ, LMMS_UNANSWERABLE, HubVQASettings, HubVQATask, Protocol, also_works

VIZWIZ_PROTOCOLS = {"ddit": Protocol(DDIT_VIZWIZ), "lmms-eval": Protocol(LMMS_UNANSWERABLE)}


@dataclass(frozen=True)
class VizWizSettings(HubVQASettings):
    dataset: str = HubVQASettings.with_default("dataset", "lmms-lab/VizWiz-VQA")
    split: str = HubVQASettings.with_default("split", "val")


@register_task
class VizWiz(HubVQATask):
    name = "vizwiz"
    description = "VizWiz-VQA val: VQA accuracy (x100), answers containing 'unanswer' count as 'unanswerable'"
    data_source = also_works("VizWiz-VQA") + ", split val"
    doc_columns = ("question_id", "question", "answers", "category")
    reference_columns = ("answers",)
    group_column = "category"
    protocols = VIZWIZ_PROTOCOLS
    settings_type = VizWizSettings

    def prediction(self, record: dict) -> str:
        from ddit_eval.submissions import vizwiz_answer

        return vizwiz_answer(str(record["prediction"]))

    def scoring(self) -> dict:
        return {**super().scoring(), "unanswerable": "a prediction containing 'unanswer'"}
