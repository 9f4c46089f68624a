"""`describe TASK`: what a task is and every setting it takes, read from its declarations alone (nothing loads)."""

from __future__ import annotations

from typing import Any, Sequence

from .api import Sweep

HEADER = ("setting", "type", "default", "constraint", "doc")


def headline(cls: type) -> str:
    """The headline metric as `list-tasks` says it."""
    if cls.primary_metric:
        return cls.primary_metric
    return "each of its tasks' own, by cell" if issubclass(cls, Sweep) else "none (writes a submission file)"


def default_text(value: Any) -> str:
    """A default as you would type it in `--set`."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value) if value != "" else '""'


def table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Columns padded to their widest cell; the last column is left unpadded."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return ["  ".join([*(cell.ljust(w) for cell, w in zip(row, widths)), row[-1]]).rstrip() for row in rows]


def describe_task(cls: type) -> str:
    """The task's name, description, data, request kind, headline metric and settings table."""
    rows = [HEADER] + [(d.name, d.kind.name, default_text(d.default), d.spec.constraint(d.kind) or "-", d.spec.doc)
                       for d in cls.settings_type.declared()]
    kind = cls.request_kind or "its tasks' own"
    lines = [f"{cls.name}: {cls.description}", f"data: {cls.data_source}", f"request kind: {kind}",
             f"headline metric: {headline(cls)}", ""]
    if len(rows) == 1:
        return "\n".join([*lines, "settings: none"])
    return "\n".join([*lines, f"settings (--set {cls.name}.SETTING=VALUE; lists comma-separated):", *table(rows)])
