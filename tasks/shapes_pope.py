"""shapes-pope: POPE-style object existence questions (random / popular / adversarial splits).

Documents have POPE's columns (question_id, question, answer yes/no, image_source,
category = split), plus the scene.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterator

from ddit_eval.api import Sample
from ddit_eval.registry import register_task
from ddit_eval.settings import setting

from ._answer_rules import PopeRules, PopeRuleSettings
from ._shapes_common import ShapesAnswerSettings, ShapesAnswerTask, sample_rng
from .pope import POPE_PROTOCOLS

SPLITS = ("random", "popular", "adversarial")


@dataclass(frozen=True)
class ShapesPopeSettings(PopeRuleSettings, ShapesAnswerSettings):
    num_images: int = setting(25, "scenes; each is asked its questions in all three splits", minimum=1)


@register_task
class ShapesPope(PopeRules, ShapesAnswerTask):
    name = "shapes-pope"
    description = "POPE on synthetic shape scenes: 'Is there a red circle in the image?' in 3 splits"
    protocols = POPE_PROTOCOLS
    settings_type = ShapesPopeSettings

    def samples(self) -> Iterator[Sample]:
        from ddit_eval.shapes import generate_scenes, pope_pairs

        seed = self.settings.seed
        scenes = generate_scenes(seed + 2, self.settings.num_images, "test")
        popularity = Counter(s.name for scene in scenes for s in scene.shapes)
        question_id = 0
        for k, split in enumerate(SPLITS):  # split-major, like POPE's files
            for i, scene in enumerate(scenes):
                for question, answer in pope_pairs(scene, split, sample_rng(seed, i, 10 + k), popularity):
                    question_id += 1
                    yield Sample(id=f"pope-{split}-{i:04d}-{answer}", doc={
                        "scene": scene.to_dict(), "question_id": str(question_id), "question": question,
                        "answer": answer, "image_source": f"image-{i:04d}", "category": split})

    def bar_metric(self, key: str) -> bool:
        return key.endswith("accuracy") or key.endswith("f1")
