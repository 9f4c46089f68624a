"""shapes-vqa: VQAv2-style questions about shape scenes, scored with the official VQA accuracy.

Documents have VQAv2's columns: question_id, image_id, question, answers (10 records
{answer, answer_confidence, answer_id}), multiple_choice_answer (the most frequent
answer), answer_type (yes/no, number, other) and question_type, plus the scene.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterator, Sequence

from ddit_eval.api import ANSWER, Evaluation, Sample
from ddit_eval.registry import register_task

from ddit_eval.settings import integer

from ._shapes_common import ANSWER_CHECKS, ANSWER_SETTINGS, ShapesAnswerTask, sample_rng

QUESTION_TYPES = ("count", "count_kind", "color", "shape", "position", "exists")  # order of vqa_items()


@register_task
class ShapesVQA(ShapesAnswerTask):
    name = "shapes-vqa"
    description = "VQA on synthetic shape scenes: 10 human-like answers per question, official VQA accuracy"
    primary_metric = "accuracy"
    request_kind = ANSWER
    default_settings = {**ANSWER_SETTINGS, "num_questions": 200, "vqa_rule": "official"}
    setting_checks = {**ANSWER_CHECKS, "num_questions": integer(1)}

    def samples(self) -> Iterator[Sample]:
        from ddit_eval.shapes import iter_scenes, vqa_items

        seed, n = self.settings["seed"], self.settings["num_questions"]
        for i, scene in enumerate(iter_scenes(seed, "test")):
            items = vqa_items(scene, sample_rng(seed, i, 1))
            for j in (2 * i, 2 * i + 1):  # two question types per scene, cycling through all six
                if j >= n:
                    return
                kind = j % len(QUESTION_TYPES)
                item = items[kind]
                yield Sample(id=f"vqa-{j:05d}", doc={
                    "scene": scene.to_dict(), "question_id": j, "image_id": i, "question": item.question,
                    "answers": [{"answer": a, "answer_confidence": "yes", "answer_id": k + 1}
                                for k, a in enumerate(item.answers)],
                    "multiple_choice_answer": Counter(item.answers).most_common(1)[0][0],
                    "answer_type": item.answer_type, "question_type": QUESTION_TYPES[kind]})

    def evaluate(self, records: Sequence[dict]) -> Evaluation:
        from ddit_eval.metrics.vqa import VQAAccuracy

        metric = VQAAccuracy(rule=self.settings["vqa_rule"])
        metric.update([str(r["prediction"]) for r in records], [r["answers"] for r in records],
                      [r["answer_type"] for r in records])
        return Evaluation(metric.compute(), metric.per_sample())

    def protocol(self) -> dict:
        from ddit_eval.metrics.base import choose
        from ddit_eval.metrics.vqa import RULES

        return {"vqa_rule": choose("vqa_rule", self.settings["vqa_rule"], RULES)}

    def bar_metric(self, key: str) -> bool:
        return key.startswith("accuracy")
