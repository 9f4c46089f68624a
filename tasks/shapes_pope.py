"""shapes-pope: POPE-style object existence questions (random / popular / adversarial splits).

Documents have POPE's columns (question_id, question, answer yes/no, image_source,
category = split), plus the scene.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterator, Sequence

from ddit_eval.api import ANSWER, Evaluation, Sample
from ddit_eval.registry import register_task

from ddit_eval.settings import integer

from ._shapes_common import ANSWER_CHECKS, ANSWER_SETTINGS, ShapesAnswerTask, sample_rng

SPLITS = ("random", "popular", "adversarial")


@register_task
class ShapesPope(ShapesAnswerTask):
    name = "shapes-pope"
    description = "POPE on synthetic shape scenes: 'Is there a red circle in the image?' in 3 splits"
    primary_metric = "accuracy"
    request_kind = ANSWER
    default_settings = {**ANSWER_SETTINGS, "num_images": 25, "parse_rule": "pope"}
    setting_checks = {**ANSWER_CHECKS, "num_images": integer(1)}

    def samples(self) -> Iterator[Sample]:
        from ddit_eval.shapes import generate_scenes, pope_pairs

        seed = self.settings["seed"]
        scenes = generate_scenes(seed + 2, self.settings["num_images"], "test")
        popularity = Counter(s.name for scene in scenes for s in scene.shapes)
        question_id = 0
        for k, split in enumerate(SPLITS):  # split-major, like POPE's files
            for i, scene in enumerate(scenes):
                for question, answer in pope_pairs(scene, split, sample_rng(seed, i, 10 + k), popularity):
                    question_id += 1
                    yield Sample(id=f"pope-{split}-{i:04d}-{answer}", doc={
                        "scene": scene.to_dict(), "question_id": str(question_id), "question": question,
                        "answer": answer, "image_source": f"image-{i:04d}", "category": split})

    def evaluate(self, records: Sequence[dict]) -> Evaluation:
        from ddit_eval.metrics.yesno import PopeMetrics

        metric = PopeMetrics(parse_rule=self.settings["parse_rule"])
        metric.update([str(r["prediction"]) for r in records], [r["answer"] for r in records],
                      [r["category"] for r in records])
        return Evaluation(metric.compute(), metric.per_sample(), metric.notes())

    def protocol(self) -> dict:
        from ddit_eval.metrics.base import choose
        from ddit_eval.metrics.yesno import PARSE_RULES

        return {"parse_rule": choose("parse_rule", self.settings["parse_rule"], PARSE_RULES)}

    def bar_metric(self, key: str) -> bool:
        return key.endswith("accuracy") or key.endswith("f1")
