"""Shared plumbing of the shapes suite tasks (no task is registered here).

Samples hold the scene description only; images are rendered on the fly in
`build_request`, so nothing is held in memory for the whole split and listing
tasks loads nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ddit_eval.api import AnswerRequest, Evaluation, Sample, Task
from ddit_eval.prompts import DDIT_VQA, TEXT_WINDOW
from ddit_eval.settings import integer, optional_int, template
from ddit_eval.shapes import WORLD_VERSION

VQA_TEMPLATE = DDIT_VQA
ANSWER_SETTINGS = {"seed": 0, "resolution": 64, "steps": None, "answer_length": None, "prompt_template": VQA_TEMPLATE}
ANSWER_CHECKS = {"seed": integer(), "resolution": integer(8), "steps": optional_int(1), "answer_length": optional_int(1, TEXT_WINDOW),
                 "prompt_template": template("question")}


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


class ShapesAnswerTask(ShapesData, Task):
    """An image + question task: D-DiT's VQA prompt template over a rendered scene."""

    setting_checks = ANSWER_CHECKS

    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        self.protocol()  # a bad protocol name fails here, before any model work

    def prompt(self, sample: Sample) -> str:
        return self.settings["prompt_template"].format(question=sample.doc["question"])

    def build_request(self, sample: Sample, seed: int) -> AnswerRequest:
        return AnswerRequest(id=sample.id, image=render_doc(sample.doc, self.settings["resolution"]),
                             prompt=self.prompt(sample), seed=seed, steps=self.settings["steps"],
                             answer_length=self.settings["answer_length"])

    def config(self) -> dict:
        return {**super().config(), "prompt_template": self.settings["prompt_template"], **self.protocol()}

    def protocol(self) -> dict:
        """Named protocol choices recorded with results (parse rule, VQA rule, ...), checked."""
        return {}

    def plots(self, records: Sequence[dict], evaluation: Evaluation, out_dir: str) -> list[str]:
        keys = [k for k in evaluation.metrics if self.bar_metric(k)]
        return [bar_chart(evaluation.metrics, keys, Path(out_dir) / f"{self.name}.png", self.name)] if keys else []

    def bar_metric(self, key: str) -> bool:
        return key == self.primary_metric


def bar_chart(metrics: dict, keys: Sequence[str], path: Path, title: str) -> str:
    """A plain bar chart of some metrics (a pyplot-free Figure: the caller's backend is left alone)."""
    from matplotlib.figure import Figure

    keys = [k for k in keys if metrics.get(k) is not None]  # an undefined (0/0) metric has no bar, not a 0
    fig = Figure(figsize=(max(3.0, 0.7 * len(keys) + 1.5), 3.0))
    ax = fig.subplots()
    ax.bar(range(len(keys)), [metrics[k] for k in keys], color="#4477aa")
    ax.set_xticks(range(len(keys)), keys, rotation=45, ha="right", fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return str(path)
