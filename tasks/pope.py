"""pope: POPE object hallucination, 3 splits (adversarial, popular, random), 9,000 yes/no questions.

Scored with POPE's own `evaluate.py` rule by default (`parse_rule=pope`); the
D-DiT script's rule (VQA normalisation first) is `ddit_vqa`, lmms-eval's strict
one `exact`.  Yes-ratio counts the predictions, as POPE defines it.
"""

from __future__ import annotations

from typing import Sequence

from ddit_eval.api import Evaluation
from ddit_eval.metrics.yesno import PARSE_RULES
from ddit_eval.registry import register_task
from ddit_eval.settings import one_of

from ._hub_common import ANSWER_CHECKS, DDIT_VQA, LMMS_SHORT, HubAnswerTask, Protocol, also_works, data_settings, with_answer_health


@register_task
class POPE(HubAnswerTask):
    name = "pope"
    description = "POPE: yes/no object existence; accuracy, precision, recall, F1, yes-ratio per split"
    data_source = also_works("POPE") + ", split test (category = adversarial / popular / random)"
    primary_metric = "accuracy"
    doc_columns = ("question_id", "question", "answer", "image_source", "category")
    # lmms-eval's POPE asks for 128 new tokens: more than a 128-token window holds after the prompt (clamped, noted)
    protocols = {"ddit": Protocol(DDIT_VQA), "lmms-eval": Protocol(LMMS_SHORT, 128)}
    default_settings = {**data_settings("lmms-lab/POPE", "test"), **HubAnswerTask.answer_settings, "parse_rule": "pope"}
    setting_checks = {**ANSWER_CHECKS, "parse_rule": one_of(PARSE_RULES)}

    def sample_id(self, row: dict) -> str:
        return f"{row['category']}/{row['question_id']}"  # question ids restart in each split

    def evaluate(self, records: Sequence[dict]) -> Evaluation:
        from ddit_eval.metrics.yesno import PopeMetrics, is_unparsed

        rule = self.settings["parse_rule"]
        predictions = [str(r["prediction"]) for r in records]
        metric = PopeMetrics(parse_rule=rule)
        metric.update(predictions, [r["answer"] for r in records], [r["category"] for r in records])
        evaluation = Evaluation(metric.compute(), metric.per_sample(), metric.notes())
        return with_answer_health(evaluation, records, [is_unparsed(p, rule) for p in predictions])

    def scoring(self) -> dict:
        return {"parse_rule": self.settings["parse_rule"], "positive": "yes", "yes_ratio_of": "predictions"}
