"""steps-ablation: the paper's Study 2, quality and cost of text generation by masked-diffusion steps T.

It runs other tasks, unchanged, at several step counts.  Each (task, T) pair is a *cell*: a thin task
that hands everything to the real task built with `steps=T`, so no benchmark is re-implemented here and
every cell is durable and resumable like any task (its own samples file).  A sample keeps its seed in
every cell (`seed_scope`), so neighbouring step counts are paired.  The run expands the ablation into its
cells (`cells()`), and after they ran calls `summarize` (tables, paired intervals, plots:
ddit_eval.paper.steps).  `--set TASK.KEY=VALUE` reaches the task of that name (e.g. vqav2.dataset=DIR).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Sequence

from ddit_eval.api import ANSWER, CAPTION, Cell, Evaluation, Request, Sample, Sweep, Task
from ddit_eval.errors import UsageError
from ddit_eval.registry import TASKS, register_task
from ddit_eval.settings import Settings, setting


@dataclass(frozen=True)
class StepsAblationSettings(Settings):
    tasks: tuple[str, ...] = setting(("vqav2", "coco-caption"), "the answer or caption tasks run at each step count, "
                                     "in this order", item="task name")
    steps: tuple[int, ...] = setting((4, 8, 16, 32, 64, 128), "text-diffusion step counts (ascending: neighbours "
                                     "are compared)", minimum=1, unordered=True, item="step count")


@register_task
class StepsAblation(Sweep):
    name = "steps-ablation"
    description = "Study 2: other tasks at several text-diffusion step counts; metric, time and network calls by steps"
    data_source = "the data of the tasks it runs (setting tasks)"
    primary_metric = None  # each cell has its task's; the ablation's tables are by steps
    settings_type = StepsAblationSettings

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.task_names, self.step_counts = list(self.settings.tasks), list(self.settings.steps)
        for name in self.task_names:
            try:
                cls = TASKS.get(name)
            except UsageError as exc:
                raise UsageError(f"task {self.name!r}: setting tasks: {exc}") from None
            if cls.request_kind not in (ANSWER, CAPTION) or "steps" not in cls.settings_type.names() or not cls.primary_metric:
                raise UsageError(f"task {self.name!r}: setting tasks: {name!r} has no text-diffusion steps to vary "
                                 "(it must answer or caption, take a steps setting and have a headline metric)")

    def cells(self, inner_settings: Optional[Mapping[str, dict]] = None) -> list["StepsCell"]:
        """One cell per (task, steps), task by task; `inner_settings[task]` are that task's own --set values."""
        inner_settings = inner_settings or {}
        for task, given in inner_settings.items():
            if "steps" in given:
                raise UsageError(f"--set {task}.steps: {self.name} sets the steps of {task} (use {self.name}.steps)")
        return [StepsCell(self, TASKS.get(task)(**{**inner_settings.get(task, {}), "steps": n}), n)
                for task in self.task_names for n in self.step_counts]

    def summarize(self, cells: Sequence["StepsCell"], summaries: Mapping[str, dict], records: Mapping[str, list[dict]],
                  out_dir: str) -> dict:
        """After its cells ran (`cells`: those that did, in order): metric by steps beside the paper's, cost per
        cell, paired CIs, plots.  The cells are passed in, not kept on the ablation between calls."""
        from ddit_eval.paper.steps import summarize_steps

        return {"config": self.config(), **summarize_steps(self.name, cells, summaries, records, Path(out_dir))}


class StepsCell(Cell):
    """The real task at one step count, under its own file-name-safe name (steps-ablation.vqav2.steps-8).

    Plots and extra outputs are the ablation's, not the inner task's (its files would collide across cells).
    """

    def __init__(self, ablation: StepsAblation, inner: Task, steps: int) -> None:
        self.ablation, self.inner, self.steps = ablation, inner, steps
        self.name = f"{ablation.name}.{inner.name}.steps-{steps}"
        self.description = f"{inner.name} at {steps} text-diffusion steps ({ablation.name})"
        self.data_source = inner.data_source
        self.settings = inner.settings

    request_kind = property(lambda self: self.inner.request_kind)
    primary_metric = property(lambda self: self.inner.primary_metric)
    seed_scope = property(lambda self: self.inner.seed_scope)  # the inner task's: seeds equal across cells

    def samples(self) -> Iterator[Sample]:
        return self.inner.samples()

    def build_request(self, sample: Sample, seed: int) -> Request:
        return self.inner.build_request(sample, seed)

    def describe_sample(self, sample: Sample) -> dict:
        return self.inner.describe_sample(sample)

    def use_device(self, device: str) -> None:
        """The inner task scores, so the run's device is its."""
        super().use_device(device)
        self.inner.use_device(device)

    def evaluate(self, records: Sequence[dict]) -> Evaluation:
        return self.inner.evaluate(records)

    def aggregate(self, records: Sequence[dict]) -> Optional[dict[str, float]]:
        return self.inner.aggregate(records)

    def group_of(self, record: dict) -> str:
        return self.inner.group_of(record)

    def preflight(self) -> None:
        self.inner.preflight()

    def config(self) -> dict:
        return {"name": self.name, "ablation": self.ablation.name, "steps": self.steps, "task": self.inner.config()}
