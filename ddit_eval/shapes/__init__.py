"""The shapes world: a synthetic, seeded, download-free benchmark domain (and training data).

Images (e.g. 32-64 px) show one to three flat shapes (circle, square, triangle,
cross) in distinct colors (red, orange, yellow, green, blue, purple: a subset of
GenEval's ten) at distinct cells of a 3x3 grid, on a plain gray background.  A
shape's box is 0.28 of the image side, so a small model can learn the world.

Public API (everything is deterministic in its seed / rng):
- `Scene`, `Shape(kind, color, cell)`; `Scene.to_dict()` / `Scene.from_dict()`, `Scene.signature()`.
- `generate_scenes(seed, n, split="train"|"test", max_shapes=3) -> list[Scene]`: distinct scenes;
  the split of a scene is a hash of its signature (`split_of`), so train and test never overlap.
  `iter_scenes(seed, split)` streams them.
- `render(scene, size=64) -> PIL.Image` (RGB).
- `describe(scene) -> str`: the canonical one-line description (a text-to-image prompt);
  `captions(scene) -> list[str]`: 5 COCO-style references.
- `vqa_items(scene, rng) -> list[VQAItem(question, answers[10], answer_type, canonical)]`.
- `answer_question(scene, question) -> str`: the oracle for every question the suite asks.
- `pope_pairs(scene, split, rng, popularity)`, `existence_question(name)`,
  `mme_questions(scene, category, rng)`: yes/no questions.
- `geneval_metadata(seed, per_tag) -> list[dict]` (official GenEval line format) and
  `scene_for_metadata(metadata, rng) -> Scene` (a scene that satisfies a line).
- `ShapeDetector`, `MeanColorClassifier`: analytic GenEval detector / color classifier.
"""

# The version of everything that generates the suite's data (scenes, rendering, wording, answers):
# recorded with results as the dataset revision; change it whenever a generated sample changes.
WORLD_VERSION = "1"

from .detect import MeanColorClassifier, ShapeDetector
from .geneval_prompts import RELATIONS, geneval_metadata, scene_for_metadata
from .language import (OBJECTS, POPE_SPLITS, VQAItem, absent_objects, answer_question, captions, describe,
                       existence_question, has_left_right_pair, mme_questions, pope_pairs, vqa_items)
from .scenes import (BACKGROUND, COLOR_RGB, COLORS, KINDS, PLURALS, POSITIONS, Scene, Shape, generate_scenes,
                     iter_scenes, random_scene, render, shape_box, split_of)

__all__ = [
    "BACKGROUND", "COLOR_RGB", "COLORS", "KINDS", "OBJECTS", "PLURALS", "POPE_SPLITS", "POSITIONS", "RELATIONS",
    "MeanColorClassifier", "Scene", "Shape", "ShapeDetector", "VQAItem", "absent_objects", "answer_question",
    "captions", "describe", "existence_question", "generate_scenes", "geneval_metadata", "has_left_right_pair",
    "iter_scenes", "mme_questions", "pope_pairs", "random_scene", "render", "scene_for_metadata", "shape_box",
    "split_of", "vqa_items", "WORLD_VERSION",
]
