"""The tasks a command names, built with their --set values; for `run`, each ablation becomes its cells.

An ablation (steps-ablation) is a task with `cells()`: each cell is a normal task with its own samples file
(durable, resumable); after its cells ran, the ablation's `summarize` writes its tables and plots (run.py).
"""

from __future__ import annotations

from .api import Sweep
from .errors import UsageError
from .overrides import task_overrides
from .registry import TASKS


def build_tasks(names: list[str], overrides: list[str], cells: bool = False) -> dict:
    """The tasks, built with their --set values; with `cells`, an ablation becomes its cells (see expand_cells)."""
    classes = {name: TASKS.get(name) for name in names}
    own, inner = split_inner_overrides(classes, overrides) if cells else (overrides, {})
    settings = task_overrides(own, classes)
    tasks = {name: cls(**settings[name]) for name, cls in classes.items()}
    return expand_cells(tasks, inner) if cells else tasks


def split_inner_overrides(classes: dict, overrides: list[str]) -> tuple[list[str], dict]:
    """With an ablation selected, `--set TASK.KEY=VALUE` may set a task the ablation runs (vqav2.dataset=DIR):
    such pairs become that task's settings; the others stay the selected tasks' (unscoped ones included)."""
    if not any(issubclass(cls, Sweep) for cls in classes.values()):
        return overrides, {}

    def scope(pair: str) -> str:
        return pair.partition("=")[0].rpartition(".")[0]

    inner = {s: TASKS.get(s) for s in sorted({scope(p) for p in overrides}) if s in TASKS.names()}
    own = [p for p in overrides if scope(p) not in inner or scope(p) in classes]
    return own, task_overrides([p for p in overrides if scope(p) in inner], inner)


def expand_cells(tasks: dict, inner_settings: dict) -> dict:
    """Each ablation replaced by its cells, in order; a scoped --set for a task nobody runs is an error."""
    expanded, used = {}, set(tasks)
    for name, task in tasks.items():
        if not isinstance(task, Sweep):
            expanded[name] = task
            continue
        mine = {inner: s for inner, s in inner_settings.items() if inner in task.task_names}
        used |= set(mine)
        expanded.update((cell.name, cell) for cell in task.cells(mine))
    stray = sorted(set(inner_settings) - used)
    if stray:
        raise UsageError(f"--set {stray[0]}.KEY: task {stray[0]!r} is neither selected nor run by a selected ablation")
    return expanded
