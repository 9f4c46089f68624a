"""shapes-caption: COCO-style captioning of shape scenes (5 references), pycocoevalcap metrics.

Documents have the columns of lmms-eval's COCO-Caption2017: question_id (the image's
file name) and answer (the 5 reference captions), plus the scene.  Asked, scored and
reported as the COCO captioning tasks are (`_caption_common`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from ddit_eval.api import Sample
from ddit_eval.registry import register_task
from ddit_eval.settings import setting

from ._caption_common import CaptionSettings, CaptionTask
from ._shapes_common import SceneSettings, ShapesScenes


@dataclass(frozen=True)
class ShapesCaptionSettings(CaptionSettings, SceneSettings):
    num_images: int = setting(100, "scenes captioned (5 references each)", minimum=1)


@register_task
class ShapesCaption(ShapesScenes, CaptionTask):
    name = "shapes-caption"
    description = "captioning of synthetic shape scenes: 5 references each, BLEU/METEOR/ROUGE-L/CIDEr (x100)"
    settings_type = ShapesCaptionSettings

    def samples(self) -> Iterator[Sample]:
        from ddit_eval.shapes import captions, iter_scenes

        for i, scene in zip(range(self.settings.num_images), iter_scenes(self.settings.seed + 1, "test")):
            yield Sample(id=f"caption-{i:05d}", doc={"scene": scene.to_dict(), "question_id": f"shapes-{i:05d}.png",
                                                      "answer": captions(scene)})

    def image_count(self) -> int:
        return self.settings.num_images

    def bar_metric(self, key: str) -> bool:
        return key in ("BLEU-4", "METEOR", "ROUGE-L", "CIDEr")
