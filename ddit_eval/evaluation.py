"""What scoring a task returns (`Evaluation`), and how its metrics' own directions come with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence


@dataclass
class Evaluation:
    """What scoring a task returns.

    `per_sample[i]` holds the per-sample scores of `records[i]` (same order);
    keys whose mean equals a headline metric use that metric's name so that
    `compare` can pair them.  `notes` are human-readable remarks for the report
    (e.g. "CIDEr computed on a 100-image subset").
    """

    metrics: dict[str, Optional[float]]
    per_sample: list[dict[str, float]]
    notes: list[str] = field(default_factory=list)
    # metric names where smaller is better: filled by `of`/`plus` from each Metric class's own attribute
    # (FID, empty answers), never typed in by a task
    lower_is_better: frozenset[str] = frozenset()

    @classmethod
    def of(cls, *metrics: Any, notes: Sequence[str] = ()) -> "Evaluation":
        """The Evaluation of updated `Metric`s: their numbers, per-sample scores (merged row by row), `notes`
        followed by each metric's own notes (why a number is undefined), and their directions."""
        values: dict[str, Optional[float]] = {}
        for metric in metrics:
            values.update(metric.compute())
        return cls(values, [], list(notes)).plus(*metrics, numbers=False)

    def plus(self, *metrics: Any, numbers: bool = True) -> "Evaluation":
        """This Evaluation with more updated metrics' numbers, per-sample scores, notes and directions."""
        values = dict(self.metrics)
        per_sample = [dict(row) for row in self.per_sample]
        notes = list(self.notes)
        for metric in metrics:
            if numbers:
                values.update(metric.compute())
            rows = metric.per_sample()
            if not per_sample:
                per_sample = [{} for _ in rows]
            if len(rows) != len(per_sample):
                raise ValueError(f"{type(metric).__name__} has {len(rows)} per-sample rows, expected {len(per_sample)}")
            for row, extra in zip(per_sample, rows):
                row.update(extra)
            notes.extend(metric.notes())
        lower = self.lower_is_better.union(*(type(metric).lower_is_better for metric in metrics))
        return Evaluation(values, per_sample, notes, lower)

    def renamed(self, name: Callable[[str], str]) -> "Evaluation":
        """The same scores under other names (feature-probe's `ddit/vqa_accuracy_0shot`), directions kept."""
        return Evaluation({name(k): v for k, v in self.metrics.items()},
                          [{name(k): v for k, v in row.items()} for row in self.per_sample], list(self.notes),
                          frozenset(name(k) for k in self.lower_is_better))
