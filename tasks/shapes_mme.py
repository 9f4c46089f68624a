"""shapes-mme: MME-style paired yes/no questions (existence, count, position, color).

Documents have MME's columns: question_id (the image name, shared by the image's two
questions, which acc+ pairs on), question (ending "Please answer yes or no."), answer
(Yes/No) and category, plus the scene.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from ddit_eval.api import Sample
from ddit_eval.registry import register_task
from ddit_eval.settings import setting

from ._answer_rules import MMERules, MMERuleSettings
from ._shapes_common import ShapesAnswerSettings, ShapesAnswerTask, sample_rng

CATEGORIES = ("existence", "count", "position", "color")


@dataclass(frozen=True)
class ShapesMMESettings(MMERuleSettings, ShapesAnswerSettings):
    num_images: int = setting(48, "images, two yes/no questions each, cycling through the four categories", minimum=1)


@register_task
class ShapesMME(MMERules, ShapesAnswerTask):
    name = "shapes-mme"
    description = "MME on synthetic shape scenes: 2 yes/no questions per image, acc + acc+ per category"
    settings_type = ShapesMMESettings

    def samples(self) -> Iterator[Sample]:
        from ddit_eval.shapes import has_left_right_pair, iter_scenes, mme_questions

        seed = self.settings.seed
        stream = iter_scenes(seed + 3, "test")
        for i in range(self.settings.num_images):
            category = CATEGORIES[i % len(CATEGORIES)]
            scene = next(stream)
            while category == "position" and not has_left_right_pair(scene):
                scene = next(stream)
            for j, (question, answer) in enumerate(mme_questions(scene, category, sample_rng(seed, i, 20))):
                yield Sample(id=f"mme-{i:04d}-{j}", doc={
                    "scene": scene.to_dict(), "question_id": f"{category}/image-{i:04d}.png", "question": question,
                    "answer": answer, "category": category})

    def bar_metric(self, key: str) -> bool:
        return key.endswith("_score")
