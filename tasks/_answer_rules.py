"""How each answer benchmark scores, shared by its hub task and its shapes twin (no task is registered here).

A rules class is mixed in before the data half (`HubAnswerTask` or `ShapesAnswerTask`): it brings
`evaluate` with the answers' health and `scoring()`, the rules recorded with results; its settings
(`VQARuleSettings`, ...) are inherited by both twins' declarations.  So `vqav2` and `shapes-vqa` score, and report, the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional, Sequence

from ddit_eval.api import Evaluation, Sample
from ddit_eval.metrics.vqa import RULES as VQA_RULES
from ddit_eval.metrics.yesno import COGNITION, PARSE_RULES, PERCEPTION
from ddit_eval.settings import Settings, setting

from ._answer_common import AnswerTask, with_answer_health

YES_NO_SUFFIX = " Please answer yes or no."
PARSE_DOC = "how a yes/no answer is read: pope, ddit_vqa, mme, exact (the benchmarks' own scripts), lmms_eval..."


@dataclass(frozen=True)
class VQARuleSettings(Settings):
    vqa_rule: str = setting("official", "VQA accuracy: official (vqaEval.py) or always-normalise (every answer)",
                            choices=VQA_RULES)


@dataclass(frozen=True)
class PopeRuleSettings(Settings):
    parse_rule: str = setting("pope", PARSE_DOC, choices=PARSE_RULES)


@dataclass(frozen=True)
class MMERuleSettings(Settings):
    parse_rule: str = setting("mme", PARSE_DOC, choices=PARSE_RULES)
    drop_yes_no_suffix: bool = setting(True, "drop MME's \"Please answer yes or no.\" before the protocol's instruction")


class VQARules(AnswerTask):
    """The official VQA accuracy (VQAv2, VizWiz, OK-VQA), per `group_column` where there is one."""

    primary_metric = "accuracy"
    group_column: ClassVar[Optional[str]] = None  # VQAv2: answer_type; VizWiz: category
    metric_splits = ("yes_no", "number", "other", "unanswerable")  # `accuracy_<group>`, where there are groups

    def prediction(self, record: dict) -> str:
        return str(record["prediction"])

    def evaluate(self, records: Sequence[dict]) -> Evaluation:
        from ddit_eval.metrics.vqa import VQAAccuracy

        metric = VQAAccuracy(rule=self.settings.vqa_rule)
        groups = [r[self.group_column] for r in records] if self.group_column else None
        metric.update([self.prediction(r) for r in records], [r["answers"] for r in records], groups)
        return with_answer_health(Evaluation.of(metric), records)

    def scoring(self) -> dict:
        return {"vqa_rule": self.settings.vqa_rule}


class PopeRules(AnswerTask):
    """POPE's yes/no scoring: accuracy, precision, recall, F1 and yes-ratio (of the predictions) per split."""

    primary_metric = "accuracy"
    metric_splits = ("adversarial", "popular", "random")

    def stratum(self, sample: Sample) -> Optional[str]:
        return sample.doc["category"]  # the rows are sorted by split: --limit must reach all three

    def evaluate(self, records: Sequence[dict]) -> Evaluation:
        from ddit_eval.metrics.yesno import PopeMetrics, is_unparsed

        rule = self.settings.parse_rule
        predictions = [str(r["prediction"]) for r in records]
        metric = PopeMetrics(parse_rule=rule)
        metric.update(predictions, [r["answer"] for r in records], [r["category"] for r in records])
        return with_answer_health(Evaluation.of(metric), records, [is_unparsed(p, rule) for p in predictions])

    def scoring(self) -> dict:
        return {"parse_rule": self.settings.parse_rule, "positive": "yes", "yes_ratio_of": "predictions"}


class MMERules(AnswerTask):
    """MME's paired yes/no scoring: acc, acc+ (an image's two questions both right) and score per category."""

    primary_metric = "perception"
    metric_splits = PERCEPTION + COGNITION
    stratum_name = "category"

    def stratum(self, sample: Sample) -> Optional[str]:
        return sample.doc["category"]

    def question(self, sample: Sample) -> str:
        """Both protocols replace MME's yes/no instruction by their single-word instruction."""
        question = sample.doc["question"]
        return question.replace(YES_NO_SUFFIX, "") if self.settings.drop_yes_no_suffix else question

    def evaluate(self, records: Sequence[dict]) -> Evaluation:
        from ddit_eval.metrics.yesno import MMEScore, is_unparsed

        rule = self.settings.parse_rule
        predictions = [str(r["prediction"]) for r in records]
        metric = MMEScore(parse_rule=rule)
        metric.update(predictions, [r["answer"] for r in records], [r["category"] for r in records],
                      [r["question_id"] for r in records])
        n = int(metric.compute()["perception_categories_scored"])
        notes = [] if n == 10 else [f"perception sums {n} of MME's 10 perception categories (max {200 * n}, not 2000)"]
        return with_answer_health(Evaluation.of(metric, notes=notes), records, [is_unparsed(p, rule) for p in predictions])

    def scoring(self) -> dict:
        return {"parse_rule": self.settings.parse_rule, "drop_yes_no_suffix": self.settings.drop_yes_no_suffix}

    def group_of(self, record: dict) -> str:
        return record["question_id"]  # acc+ pairs an image's questions: resample images, not questions

    def aggregate(self, records: Sequence[dict]) -> Optional[dict[str, float]]:
        """Parsing only: cheap enough to repeat per bootstrap draw."""
        return self.evaluate(records).metrics if records else None
