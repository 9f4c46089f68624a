"""95% bootstrap intervals from a run's scored records, with `compare`'s bootstrap machinery.

A metric that is the mean of a per-sample score is resampled sample by sample; a headline that is not
(MME perception, GenEval per-tag accuracies) is recomputed by the task's `aggregate` over resampled
groups (`group_of`), as the checkpoint gate does.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ..bootstrap import (CLUSTER_BOOTSTRAP_SAMPLES, cluster_bootstrap_diffs, groups_of, paired_bootstrap_ci,
                       resampled_records)
from ..results import is_number

ALPHA = 0.05
Interval = tuple[float, float]


def _per_sample(records: Sequence[dict], metric: str) -> Optional[np.ndarray]:
    values = [r.get("scores", {}).get(metric) for r in records]
    return None if not values or any(v is None for v in values) else np.asarray(values, dtype=float)


def metric_intervals(records: Sequence[dict], metrics: Sequence[str], task=None,
                     alpha: float = ALPHA) -> dict[str, Interval]:
    """metric -> percentile interval of its value over the scored `records`; metrics with no way to resample are left out."""
    out: dict[str, Interval] = {}
    headline = []
    for metric in metrics:
        values = _per_sample([r for r in records if metric in r.get("scores", {})], metric)
        if values is not None:  # records without it did not get that prediction (a probe's encoder)
            out[metric] = paired_bootstrap_ci(values, alpha)  # a plain mean's interval: the "pairs" are the samples
        else:
            headline.append(metric)
    if headline and records and task is not None and task.aggregate(records) is not None:
        groups = groups_of(task, records)
        names = sorted(groups)
        rng = np.random.default_rng(0)
        draws = [task.aggregate(resampled_records(groups, [names[i] for i in rng.integers(0, len(names), len(names))]))
                 for _ in range(CLUSTER_BOOTSTRAP_SAMPLES)]
        for metric in headline:
            values = np.array([d.get(metric, np.nan) for d in draws], dtype=float)  # None (undefined) -> NaN
            if not np.isnan(values).any():
                out[metric] = (float(np.quantile(values, alpha / 2)), float(np.quantile(values, 1 - alpha / 2)))
    return out


def paired_difference(first: tuple, second: tuple, metric: str, alpha: float = ALPHA) -> Optional[dict]:
    """second - first on the samples both scored, with its paired-bootstrap interval.

    `first` and `second` are (task, scored records) of the same samples under two settings (an ablation's
    neighbouring cells); None when the metric cannot be paired.
    """
    (task_a, records_a), (task_b, records_b) = first, second
    a, b = {r["id"]: r for r in records_a}, {r["id"]: r for r in records_b}
    ids = sorted(set(a) & set(b))
    if not ids:
        return None
    va, vb = _per_sample([a[i] for i in ids], metric), _per_sample([b[i] for i in ids], metric)
    if va is not None and vb is not None:
        low, high = paired_bootstrap_ci(vb - va, alpha)
        return {"diff": float((vb - va).mean()), "ci": [low, high], "n": len(ids), "method": "paired bootstrap over samples"}
    groups_a, groups_b = groups_of(task_a, [a[i] for i in ids]), groups_of(task_b, [b[i] for i in ids])
    shared = sorted(set(groups_a) & set(groups_b))
    base, cand = task_a.aggregate([r for g in shared for r in groups_a[g]]), task_b.aggregate([r for g in shared for r in groups_b[g]])
    if not shared or base is None or cand is None or not (is_number(base.get(metric)) and is_number(cand.get(metric))):
        return None  # not recomputable, or undefined (None) in either cell
    diffs = cluster_bootstrap_diffs(task_a, task_b, groups_a, groups_b, shared, metric)
    diffs = diffs[~np.isnan(diffs)]  # resamples where the metric is undefined measured nothing
    if len(diffs) == 0:
        return None
    return {"diff": float(cand[metric] - base[metric]), "ci": [float(np.quantile(diffs, alpha / 2)),
            float(np.quantile(diffs, 1 - alpha / 2))], "n": len(shared), "method": "paired cluster bootstrap over groups"}
