"""shapes-mme: MME-style paired yes/no questions (existence, count, position, color).

Documents have MME's columns: question_id (the image name, shared by the image's two
questions, which acc+ pairs on), question (ending "Please answer yes or no."), answer
(Yes/No) and category, plus the scene.
"""

from __future__ import annotations

from typing import Iterator, Sequence

from ddit_eval.api import ANSWER, Evaluation, Sample
from ddit_eval.registry import register_task

from ddit_eval.settings import integer

from ._shapes_common import ANSWER_CHECKS, ANSWER_SETTINGS, ShapesAnswerTask, sample_rng

CATEGORIES = ("existence", "count", "position", "color")
SUFFIX = " Please answer yes or no."


@register_task
class ShapesMME(ShapesAnswerTask):
    name = "shapes-mme"
    description = "MME on synthetic shape scenes: 2 yes/no questions per image, acc + acc+ per category"
    primary_metric = "perception"
    request_kind = ANSWER
    default_settings = {**ANSWER_SETTINGS, "num_images": 48, "parse_rule": "mme", "drop_yes_no_suffix": True}
    setting_checks = {**ANSWER_CHECKS, "num_images": integer(1)}

    def samples(self) -> Iterator[Sample]:
        from ddit_eval.shapes import has_left_right_pair, iter_scenes, mme_questions

        seed = self.settings["seed"]
        stream = iter_scenes(seed + 3, "test")
        for i in range(self.settings["num_images"]):
            category = CATEGORIES[i % len(CATEGORIES)]
            scene = next(stream)
            while category == "position" and not has_left_right_pair(scene):
                scene = next(stream)
            for j, (question, answer) in enumerate(mme_questions(scene, category, sample_rng(seed, i, 20))):
                yield Sample(id=f"mme-{i:04d}-{j}", doc={
                    "scene": scene.to_dict(), "question_id": f"{category}/image-{i:04d}.png", "question": question,
                    "answer": answer, "category": category})

    def prompt(self, sample: Sample) -> str:
        """lmms-eval's MME handling: drop the yes/no instruction, then the single-word template."""
        question = sample.doc["question"]
        if self.settings["drop_yes_no_suffix"]:
            question = question.replace(SUFFIX, "")
        return self.settings["prompt_template"].format(question=question)

    def evaluate(self, records: Sequence[dict]) -> Evaluation:
        from ddit_eval.metrics.yesno import MMEScore

        metric = MMEScore(parse_rule=self.settings["parse_rule"])
        metric.update([str(r["prediction"]) for r in records], [r["answer"] for r in records],
                      [r["category"] for r in records], [r["question_id"] for r in records])
        metrics = metric.compute()
        n = int(metrics["perception_categories_scored"])
        notes = [f"perception sums {n} of MME's 10 perception categories (max {200 * n}, not 2000)"]
        return Evaluation(metrics, metric.per_sample(), notes + metric.notes())

    def group_of(self, record: dict) -> str:
        """The image: acc+ pairs its questions, so the gate's bootstrap must draw them together."""
        return record["question_id"]

    def aggregate(self, records: Sequence[dict]) -> dict[str, float] | None:
        """Perception and the category scores, re-parsed from the stored answers (cheap, no model)."""
        return self.evaluate(records).metrics if records else None

    def protocol(self) -> dict:
        from ddit_eval.metrics.base import choose
        from ddit_eval.metrics.yesno import PARSE_RULES

        return {"parse_rule": choose("parse_rule", self.settings["parse_rule"], PARSE_RULES),
                "drop_yes_no_suffix": self.settings["drop_yes_no_suffix"]}

    def bar_metric(self, key: str) -> bool:
        return key.endswith("_score")
