"""One compact table per task for report.md: sub-metrics as rows, the benchmark's splits as columns.

POPE's 22 numbers are 5 measures x (all, adversarial, popular, random) plus two answer shares; a task
declares its splits (`Benchmark.metric_splits`) and metric names carry them as a prefix
(`random_f1`, MME's `count_acc_plus`) or a suffix (VQAv2's `accuracy_yes_no`).
"""

from __future__ import annotations

from typing import Optional, Sequence

from .headlines import fmt

ALL = "all"


def split_of(metric: str, splits: Sequence[str]) -> tuple[str, str]:
    """(measure, split) of a metric name: `random_f1` -> (f1, random); `accuracy_number` -> (accuracy, number);
    a name with no declared split -> (name, all).  Longer split names are tried first (`yes_no` before `no`)."""
    for split in sorted(splits, key=len, reverse=True):
        if metric.startswith(f"{split}_"):
            return metric[len(split) + 1:], split
        if metric.endswith(f"_{split}"):
            return metric[:-len(split) - 1], split
    return metric, ALL


def task_table(name: str, metrics: dict[str, Optional[float]], primary: Optional[str], splits: Sequence[str]) -> list[str]:
    """Markdown lines: `### name`, then measures x splits (the headline in bold); a split-less task is one column."""
    cells: dict[str, dict[str, str]] = {}
    columns = [ALL]
    for metric, value in metrics.items():
        measure, split = split_of(metric, splits)
        if split not in columns:
            columns.append(split)
        shown = f"**{fmt(value)}**" if metric == primary else fmt(value)
        cells.setdefault(measure, {})[split] = shown
    ordered = [ALL, *[s for s in splits if s in columns]]
    lines = [f"### {name}", "", "| metric | " + " | ".join(ordered) + " |", "|---" * (len(ordered) + 1) + "|"]
    for measure, row in cells.items():
        lines.append(f"| {measure} | " + " | ".join(row.get(split, "") for split in ordered) + " |")
    return lines
