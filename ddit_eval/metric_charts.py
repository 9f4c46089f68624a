"""A task's sub-metrics as one chart: measures along the axis, the benchmark's splits as grouped bars.

POPE's accuracy and F1 over adversarial / popular / random read as two groups of three bars, not a row of
22; an undefined (0/0) metric has no bar, never a bar at 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .metric_tables import split_of

_COLOURS = ("#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb")


def grouped_bar_chart(metrics: dict, keys: Sequence[str], splits: Sequence[str], path: Path, title: str) -> str:
    """PNG of `keys`' values: one group per measure, one bar per split (`all` first), a legend when split."""
    from matplotlib.figure import Figure  # pyplot-free: the caller's backend is left alone

    table: dict[str, dict[str, float]] = {}
    for key in keys:
        if metrics.get(key) is not None:
            measure, split = split_of(key, splits)
            table.setdefault(measure, {})[split] = metrics[key]
    columns = list(dict.fromkeys(split for row in table.values() for split in row))
    width = 0.8 / max(len(columns), 1)
    fig = Figure(figsize=(max(3.5, 0.6 * len(columns) * len(table) + 1.8), 3.2))
    ax = fig.subplots()
    for j, split in enumerate(columns):
        xs = [i + (j - (len(columns) - 1) / 2) * width for i, row in enumerate(table.values()) if split in row]
        ax.bar(xs, [row[split] for row in table.values() if split in row], width, label=split,
               color=_COLOURS[j % len(_COLOURS)])
    ax.set_xticks(range(len(table)), list(table), rotation=30 if len(table) > 4 else 0, ha="right" if len(table) > 4 else "center",
                  fontsize=8)
    if len(columns) > 1:
        ax.legend(fontsize=7, ncols=min(len(columns), 4), loc="upper center", bbox_to_anchor=(0.5, -0.25 if len(table) > 4 else -0.12))
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return str(path)
