"""okvqa: OK-VQA val2014 (5,046 questions), official VQA accuracy over its 10 answers."""

from ddit_eval.registry import register_task

from ._hub_common import DDIT_VQA, LMMS_UNANSWERABLE, HubAnswerTask, HubVQATask, Protocol, also_works, data_settings


@register_task
class OKVQA(HubVQATask):
    name = "okvqa"
    description = "OK-VQA val2014: official VQA accuracy (x100) over its 10 answers"
    data_source = also_works("OK-VQA") + ", split val2014"
    doc_columns = ("question_id", "question", "answers")
    reference_columns = ("answers",)
    protocols = {"ddit": Protocol(DDIT_VQA), "lmms-eval": Protocol(LMMS_UNANSWERABLE)}
    default_settings = {**data_settings("lmms-lab/OK-VQA", "val2014"), **HubAnswerTask.answer_settings,
                        "vqa_rule": "official"}
