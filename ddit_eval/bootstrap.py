"""Paired bootstrap machinery shared by the checkpoint gate (compare.py) and the paper tables' intervals.

Means of per-sample scores are resampled sample by sample; headline metrics that are not means
(MME perception, GenEval overall) by a cluster bootstrap over the task's `group_of` units, with the
task's `aggregate` recomputing the metric on each resample.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .results import is_number

BOOTSTRAP_SAMPLES = 2000
CLUSTER_BOOTSTRAP_SAMPLES = 1000  # each resample recomputes the task's aggregate twice


def paired_bootstrap_ci(diffs: np.ndarray, alpha: float, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> tuple[float, float]:
    """Percentile interval of the mean difference; resampling pairs keeps their correlation."""
    rng = np.random.default_rng(seed)
    n = len(diffs)
    means = np.empty(samples)
    chunk = max(1, 4_000_000 // max(n, 1))
    for start in range(0, samples, chunk):
        stop = min(samples, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = diffs[idx].mean(axis=1)
    return float(np.quantile(means, alpha / 2)), float(np.quantile(means, 1 - alpha / 2))


POWER = 0.8


def min_detectable_drop(standard_error: float, alpha: float, power: float = POWER) -> float:
    """The smallest true drop a two-sided test at `alpha` finds with probability `power`:
    (z_{1-alpha/2} + z_power) standard errors of the difference.  A CI user sees what the gate cannot see."""
    from statistics import NormalDist

    return (NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)) * standard_error


def paired_sd(b: np.ndarray, c: np.ndarray) -> float:
    """The sd of paired differences; when the runs agree on every sample (sd 0, nothing to estimate from),
    the conservative no-correlation bound sqrt(var b + var c)."""
    if len(b) < 2:
        return float("nan")
    sd = float(np.std(c - b, ddof=1))
    return sd if sd > 0 else float(np.sqrt(np.var(b, ddof=1) + np.var(c, ddof=1)))


def detectable(standard_error: float, alpha: float, no_variance: str) -> tuple[float, str]:
    """(min_detectable_drop, why it is NaN): a standard error of 0 (or none at all) detects nothing, so no number.

    `no_variance` says what a zero standard error means where it was estimated (e.g. both runs constant).
    """
    if np.isnan(standard_error):
        return float("nan"), "one sample: no variance to estimate"
    if standard_error == 0:
        return float("nan"), f"no variance: {no_variance}"
    return min_detectable_drop(standard_error, alpha), ""


def groups_of(task, records: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for r in records:
        groups.setdefault(str(task.group_of(r)), []).append(r)
    return groups


def headline_value(task, groups: dict[str, list[dict]], shared: list[str], primary: str) -> Optional[float]:
    value = (task.aggregate([r for g in shared for r in groups[g]]) or {}).get(primary)
    return None if value is None else float(value)


def relabel(record: dict, group: str, draw: int) -> dict:
    """A copy of a record for draw position `draw`: its id and every field holding its group id get a suffix,
    so a group drawn twice counts as two groups (MME pairs an image's questions by `question_id`)."""
    label = f"{group}#{draw}"
    copy = {k: (label if isinstance(v, str) and v == group else v) for k, v in record.items()}
    copy["id"] = label if record["id"] == group else f"{record['id']}#{draw}"
    return copy


def relabels(task, record: dict, group: str) -> bool:
    """True when the task sees a relabelled record in the relabelled group (its group is a plain field)."""
    try:
        return str(task.group_of(relabel(record, group, 0))) == f"{group}#0"
    except Exception:  # noqa: BLE001 - a group_of that cannot read the copy: not resamplable
        return False


def cluster_bootstrap_diffs(base_task, cand_task, base_groups: dict, cand_groups: dict, shared: list[str],
                            primary: str, samples: int = CLUSTER_BOOTSTRAP_SAMPLES, seed: int = 0) -> np.ndarray:
    """aggregate(candidate) - aggregate(baseline) over resamples of the shared groups, the same draw for both runs;
    NaN for a resample where either value is undefined (None)."""
    rng = np.random.default_rng(seed)
    diffs = np.empty(samples)
    for b in range(samples):
        drawn = [shared[i] for i in rng.integers(0, len(shared), size=len(shared))]
        base_value, cand_value = (as_number((task.aggregate(resampled_records(groups, drawn)) or {}).get(primary))
                                  for task, groups in ((base_task, base_groups), (cand_task, cand_groups)))
        diffs[b] = cand_value - base_value
    return diffs


def as_number(value) -> float:
    return float(value) if is_number(value) else float("nan")


def resampled_records(groups: dict[str, list[dict]], drawn: list[str]) -> list[dict]:
    """The records of the drawn groups, each draw relabelled so that a group drawn twice is two groups."""
    return [relabel(r, g, j) for j, g in enumerate(drawn) for r in groups[g]]
