"""Shared plumbing of the shapes suite tasks (no task is registered here).

The shapes tasks are the hub tasks' twins whose data happens to be generated:
this module is their data half.  Samples hold the scene description only;
images are rendered on the fly (`image`), so nothing is held in memory for the
whole split and listing tasks loads nothing.  The answer half (prompt
protocols, answer health) and the scoring rules are the hub tasks' own
(`_answer_common`, `_answer_rules`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ddit_eval.api import Evaluation, Sample
from ddit_eval.settings import Settings, setting
from ddit_eval.shapes import WORLD_VERSION

from ._answer_common import AnswerSettings, AnswerTask


@dataclass(frozen=True)
class SceneSettings(Settings):
    """Which scenes, drawn how large: the data half's settings."""

    seed: int = setting(0, "the generator's seed: the same seed, the same scenes and questions")
    resolution: int = setting(64, "rendered image size in pixels (square)", minimum=8)


@dataclass(frozen=True)
class ShapesAnswerSettings(AnswerSettings, SceneSettings):
    """A shapes answer task's settings: its scenes, then how the model is asked (as the hub tasks)."""


def sample_rng(seed: int, index: int, salt: int) -> np.random.Generator:
    """Per-item randomness, independent of how many items came before (so --limit is a prefix)."""
    return np.random.default_rng([seed, salt, index])


def render_doc(doc: dict, size: int):
    from ddit_eval.shapes import Scene, render

    return render(Scene.from_dict(doc["scene"]), size)


class ShapesData:
    """Where every shapes task's data comes from: the generator package, versioned."""

    data_source = "synthetic shapes, generated from a seed (no download)"
    dataset_id = "ddit_eval.shapes"
    dataset_revision = WORLD_VERSION


class ShapesScenes(ShapesData):
    """The data half of the shapes tasks that show the model a picture: scenes rendered at `resolution`."""

    def image(self, sample: Sample):
        return render_doc(sample.doc, self.settings.resolution)

    def plots(self, records: Sequence[dict], evaluation: Evaluation, out_dir: str) -> list[str]:
        from ddit_eval.metric_charts import grouped_bar_chart

        keys = [k for k in evaluation.metrics if self.bar_metric(k)]
        title = f"{self.name} (n={len(records)})"
        return [grouped_bar_chart(evaluation.metrics, keys, self.metric_splits, Path(out_dir) / f"{self.name}.png", title)] \
            if keys else []

    def bar_metric(self, key: str) -> bool:
        return key == self.primary_metric


class ShapesAnswerTask(ShapesScenes, AnswerTask):
    """An image + question task over rendered scenes, asked and reported as the hub answer tasks are."""

    settings_type = ShapesAnswerSettings
