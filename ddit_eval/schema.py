"""The results.json schema, written down once: versioned dataclasses that read and write the file.

Every writer (a run, `score`, the feature-probe pipeline) builds a `RunResults` of `TaskSummary`s; every
reader goes through `RunResults.from_json`, which also reads the files of earlier versions.

Version 1 (before this module) had no `schema_version`, and a `higher_is_better` flag for the primary
metric beside the per-metric `lower_is_better` list; version 2 keeps the list only: a metric is
higher-is-better unless it is listed there (the Metric classes declare it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Optional

from .errors import UsageError

SCHEMA_VERSION = 2
_RUN_EXTRAS = ("plots", "outputs", "ablations")  # written only when present, as before the schema


@dataclass
class TaskSummary:
    """One task's entry under `tasks`: its numbers and what they cover."""

    metrics: dict[str, Optional[float]]
    n: int  # samples scored
    primary: Optional[str] = None  # the headline metric (None: a test server's submission)
    errors: int = 0  # samples that failed (not scored)
    lower_is_better: list[str] = field(default_factory=list)
    error_examples: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timing: dict[str, Any] = field(default_factory=dict)
    intervals: dict[str, list[float]] = field(default_factory=dict)  # metric -> 95% bootstrap [low, high] (headline)
    extra: dict[str, Any] = field(default_factory=dict)  # a benchmark's own block (feature-probe's `probe`)

    def higher_is_better(self, metric: str) -> bool:
        return metric not in self.lower_is_better

    def limit_cut(self, limit: Optional[int]) -> bool:
        """True when --limit left some of this task's samples out: it selected (scored + failed) as many as the
        limit.  A limit above the data's size selects every sample, so such a run is not a partial one."""
        return limit is not None and self.n + self.errors >= limit

    def to_json(self) -> dict:
        own = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        return {**own, **self.extra}

    @classmethod
    def from_json(cls, data: dict, version: int = SCHEMA_VERSION) -> "TaskSummary":
        data = dict(data)
        if version < 2:
            _lower_is_better_v1(data)
        missing = [name for name in ("metrics", "n") if name not in data]
        if missing:
            raise ValueError(f"a task entry lacks {', '.join(missing)}")
        known = {f.name for f in fields(cls)} - {"extra"}
        return cls(**{k: v for k, v in data.items() if k in known},
                   extra={k: v for k, v in data.items() if k not in known})


def _lower_is_better_v1(data: dict) -> None:
    """Version 1 said `higher_is_better: false` for a lower-is-better primary that its list might not name."""
    lower = list(data.get("lower_is_better") or [])
    if data.pop("higher_is_better", True) is False and data.get("primary") and data["primary"] not in lower:
        lower.append(data["primary"])
    data["lower_is_better"] = lower


@dataclass
class RunResults:
    """A run folder's results.json."""

    config: dict[str, Any] = field(default_factory=dict)
    tasks: dict[str, TaskSummary] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)
    timing: dict[str, Any] = field(default_factory=dict)
    plots: dict[str, list[str]] = field(default_factory=dict)
    outputs: dict[str, list[str]] = field(default_factory=dict)
    ablations: dict[str, dict] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def effective_limit(self) -> Optional[int]:
        """The run's --limit if it left samples out of some task, else None (every task was scored whole)."""
        limit = self.config.get("limit")
        return limit if any(t.limit_cut(limit) for t in self.tasks.values()) else None

    def to_json(self) -> dict:
        data = {"schema_version": self.schema_version,
                "tasks": {name: summary.to_json() for name, summary in self.tasks.items()},
                "config": self.config, "versions": self.versions, "timing": self.timing}
        data.update({name: getattr(self, name) for name in _RUN_EXTRAS if getattr(self, name)})
        return data

    @classmethod
    def from_json(cls, data: Any) -> "RunResults":
        """Read any version this code knows; ValueError says what is wrong."""
        if not isinstance(data, dict) or not isinstance(data.get("tasks"), dict):
            raise ValueError("not a ddit-eval results file (no 'tasks' table)")
        version = data.get("schema_version", 1)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise ValueError(f"schema version {version!r} is newer than this ddit-eval reads ({SCHEMA_VERSION}): "
                             "upgrade ddit-eval")
        tasks = {}
        for name, entry in data["tasks"].items():
            try:
                tasks[name] = TaskSummary.from_json(entry, version)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"task {name!r}: {exc}") from None
        return cls(config=data.get("config") or {}, tasks=tasks, versions=data.get("versions") or {},
                   timing=data.get("timing") or {}, **{name: data.get(name) or {} for name in _RUN_EXTRAS})

    @classmethod
    def read(cls, run_dir: str | Path) -> "RunResults":
        """A run folder's results.json; missing, unreadable or malformed is a one-line UsageError."""
        import json

        from .run_folder import RunFolder

        path = RunFolder(run_dir).results_path
        try:
            return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise UsageError(f"{str(run_dir)!r} is not a run folder (no results.json)") from None
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read {str(path)!r}: {exc}") from None

    def write(self, path: str | Path) -> None:
        """Atomically: a reader sees the old file or the new one, never half."""
        from .results import write_json_atomic

        write_json_atomic(path, self.to_json())


def load_results(run_dir: str | Path) -> dict:
    """A run folder's results.json read through the schema (older versions migrated), as the JSON view the
    report writers and `report_sections` read."""
    return RunResults.read(run_dir).to_json()
