"""shapes-vqa: VQAv2-style questions about shape scenes, scored with the official VQA accuracy.

Documents have VQAv2's columns: question_id, image_id, question, answers (10 records
{answer, answer_confidence, answer_id}), multiple_choice_answer (the most frequent
answer), answer_type (yes/no, number, other) and question_type, plus the scene.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterator

from ddit_eval.api import Sample
from ddit_eval.registry import register_task
from ddit_eval.settings import setting

from ._answer_rules import VQARules, VQARuleSettings
from ._shapes_common import ShapesAnswerSettings, ShapesAnswerTask, sample_rng

QUESTION_TYPES = ("count", "count_kind", "color", "shape", "position", "exists")  # order of vqa_items()


@dataclass(frozen=True)
class ShapesVQASettings(VQARuleSettings, ShapesAnswerSettings):
    num_questions: int = setting(200, "questions asked (two per scene, cycling through the six types)", minimum=1)


@register_task
class ShapesVQA(VQARules, ShapesAnswerTask):
    name = "shapes-vqa"
    description = "VQA on synthetic shape scenes: 10 human-like answers per question, official VQA accuracy"
    group_column = "answer_type"
    settings_type = ShapesVQASettings

    def samples(self) -> Iterator[Sample]:
        from ddit_eval.shapes import iter_scenes, vqa_items

        seed, n = self.settings.seed, self.settings.num_questions
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

    def bar_metric(self, key: str) -> bool:
        return key.startswith("accuracy")
