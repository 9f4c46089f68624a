"""mme: MME, 14 categories, two yes/no questions per image; perception score (max 2000) as in the paper.

Per category: acc (questions right), acc+ (images with both questions right),
score = acc + acc+.  Scored with MME's own `calculation.py` rule by default.
"""

from __future__ import annotations

from typing import Optional, Sequence

from ddit_eval.api import Evaluation, Sample
from ddit_eval.metrics.yesno import PARSE_RULES
from ddit_eval.registry import register_task
from ddit_eval.settings import one_of

from ._hub_common import ANSWER_CHECKS, DDIT_VQA, LMMS_SHORT, HubAnswerTask, Protocol, also_works, data_settings, with_answer_health

YES_NO_SUFFIX = " Please answer yes or no."


@register_task
class MME(HubAnswerTask):
    name = "mme"
    description = "MME: perception score (10 categories, max 2000), cognition (4, max 800), acc/acc+/score per category"
    data_source = also_works("MME") + ", split test"
    primary_metric = "perception"
    doc_columns = ("question_id", "question", "answer", "category")
    protocols = {"ddit": Protocol(DDIT_VQA), "lmms-eval": Protocol(LMMS_SHORT, 16)}
    default_settings = {**data_settings("lmms-lab/MME", "test"), **HubAnswerTask.answer_settings, "parse_rule": "mme",
                        "drop_yes_no_suffix": True}
    setting_checks = {**ANSWER_CHECKS, "parse_rule": one_of(PARSE_RULES)}

    def sample_id(self, row: dict) -> str:
        return f"{row['question_id']}|{row['question']}"  # question_id names the image, shared by its two questions

    def question(self, sample: Sample) -> str:
        """Both protocols replace MME's yes/no instruction by their single-word instruction."""
        question = sample.doc["question"]
        return question.replace(YES_NO_SUFFIX, "") if self.settings["drop_yes_no_suffix"] else question

    def evaluate(self, records: Sequence[dict]) -> Evaluation:
        from ddit_eval.metrics.yesno import MMEScore, is_unparsed

        rule = self.settings["parse_rule"]
        predictions = [str(r["prediction"]) for r in records]
        metric = MMEScore(parse_rule=rule)
        metric.update(predictions, [r["answer"] for r in records], [r["category"] for r in records],
                      [r["question_id"] for r in records])
        metrics = metric.compute()
        n = int(metrics["perception_categories_scored"])
        notes = [] if n == 10 else [f"perception sums {n} of MME's 10 perception categories (max {200 * n}, not 2000)"]
        evaluation = Evaluation(metrics, metric.per_sample(), notes + metric.notes())
        return with_answer_health(evaluation, records, [is_unparsed(p, rule) for p in predictions])

    def scoring(self) -> dict:
        return {"parse_rule": self.settings["parse_rule"], "drop_yes_no_suffix": self.settings["drop_yes_no_suffix"]}

    def group_of(self, record: dict) -> str:
        return record["question_id"]  # acc+ pairs an image's questions: resample images, not questions

    def aggregate(self, records: Sequence[dict]) -> Optional[dict[str, float]]:
        return self.evaluate(records).metrics  # parsing only: cheap enough to repeat per bootstrap draw
