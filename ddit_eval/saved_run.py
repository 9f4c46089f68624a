"""A finished run folder opened for reading (`compare`, the paper tables): results.json once, each log once.

A 214K-question VQAv2 log is read the first time a task's records are asked for and kept, so the gate's
three questions (metric rows, new failures, like-for-like) cost one read of each log.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Optional

from .api import Task
from .errors import UsageError
from .results import read_jsonl
from .run_folder import RunFolder
from .schema import RunResults


class SavedRun:
    def __init__(self, path: str | Path) -> None:
        self.folder = RunFolder(path)
        self.path = self.folder.path
        self._records: dict[str, list[dict]] = {}

    @cached_property
    def results(self) -> RunResults:
        return RunResults.read(self.path)

    def records(self, task: str) -> list[dict]:
        """The task's sample log as written (errors included); [] when the task has no log (a summary only)."""
        if task not in self._records:
            path = self.folder.sample_log(task).path
            try:
                self._records[task] = read_jsonl(path) if path.is_file() else []
            except (OSError, ValueError) as exc:
                raise UsageError(f"cannot read {str(path)!r}: {exc}") from None
        return self._records[task]

    def scores(self, task: str) -> dict[str, dict]:
        """id -> per-sample scores of the scored samples."""
        return {r["id"]: r["scores"] for r in self.records(task) if "scores" in r}

    def scored_records(self, task: str) -> list[dict]:
        return [r for r in self.records(task) if "scores" in r and "error" not in r]

    def task(self, name: str) -> Optional[Task]:
        """The registered task, built with the settings this run recorded (they define its protocol); None for a
        benchmark that is not a task of samples (a pipeline's records are not resampled by its groups)."""
        from .registry import TASKS

        cls = TASKS.get(name)
        recorded = (self.results.config.get("tasks", {}).get(name) or {}).get("settings") or {}
        task = cls(**cls.settings_type.recorded(recorded))  # a recorded list is read back as its declared tuple
        return task if isinstance(task, Task) else None
