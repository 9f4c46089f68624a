"""vizwiz: VizWiz-VQA val (4,319 questions), VQA accuracy with the "unanswerable" mapping, per category."""

from ddit_eval.registry import register_task

from ._hub_common import DDIT_VIZWIZ, LMMS_UNANSWERABLE, HubAnswerTask, HubVQATask, Protocol, also_works, data_settings

VIZWIZ_PROTOCOLS = {"ddit": Protocol(DDIT_VIZWIZ), "lmms-eval": Protocol(LMMS_UNANSWERABLE)}


@register_task
class VizWiz(HubVQATask):
    name = "vizwiz"
    description = "VizWiz-VQA val: VQA accuracy (x100), answers containing 'unanswer' count as 'unanswerable'"
    data_source = also_works("VizWiz-VQA") + ", split val"
    doc_columns = ("question_id", "question", "answers", "category")
    reference_columns = ("answers",)
    group_column = "category"
    protocols = VIZWIZ_PROTOCOLS
    default_settings = {**data_settings("lmms-lab/VizWiz-VQA", "val"), **HubAnswerTask.answer_settings,
                        "vqa_rule": "official"}

    def prediction(self, record: dict) -> str:
        from ddit_eval.submissions import vizwiz_answer

        return vizwiz_answer(str(record["prediction"]))

    def scoring(self) -> dict:
        return {**super().scoring(), "unanswerable": "a prediction containing 'unanswer'"}
