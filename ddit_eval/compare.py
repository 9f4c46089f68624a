"""The checkpoint gate: paired per-sample differences with bootstrap confidence intervals.

Headline metrics that are not means of per-sample scores (MME perception, GenEval overall)
are gated by a paired cluster bootstrap: the task's `group_of` units are resampled and its
`aggregate` recomputes the metric from the stored scored records.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from .errors import UsageError
from .results import effective_limit, is_number, load_results, read_jsonl

BOOTSTRAP_SAMPLES = 2000
CLUSTER_BOOTSTRAP_SAMPLES = 1000  # each resample recomputes the task's aggregate twice
# Task settings that change where extra outputs go, never what is computed.
NOT_PROTOCOL = frozenset({"results_jsonl"})


@dataclass(frozen=True)
class Comparison:
    task: str
    metric: str
    n: int
    baseline: float
    candidate: float
    diff: float  # candidate - baseline, in the metric's units
    ci_low: float
    ci_high: float
    higher_is_better: bool
    max_drop: float
    min_detectable: float = float("nan")  # smallest true drop this sample count detects (alpha, 80% power)
    why_no_detectable: str = ""  # why min_detectable is NaN (no variance, one sample)

    @property
    def drop(self) -> float:
        return -self.diff if self.higher_is_better else self.diff

    @property
    def significant_drop(self) -> bool:
        """The whole confidence interval lies on the worse side of zero."""
        return self.ci_high < 0 if self.higher_is_better else self.ci_low > 0

    @property
    def failed(self) -> bool:
        return self.significant_drop and self.drop > self.max_drop


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


def _paired_sd(b: np.ndarray, c: np.ndarray) -> float:
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


def metric_higher_is_better(summary: dict, metric: str) -> bool:
    """A metric's direction, from the run's per-metric record (results before it: the task's one flag)."""
    if "lower_is_better" in summary:
        return metric not in summary["lower_is_better"]
    return summary.get("higher_is_better", True)


def _records(run_dir: Path, task: str) -> list[dict]:
    path = run_dir / "samples" / f"{task}.jsonl"
    if not path.is_file():
        return []
    try:
        return read_jsonl(path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {str(path)!r}: {exc}") from None


def _scores(run_dir: Path, task: str) -> dict[str, dict]:
    return {r["id"]: r["scores"] for r in _records(run_dir, task) if "scores" in r}


def new_failures(baseline: Path, candidate: Path) -> dict[str, list[str]]:
    """Per shared task, the ids the baseline scored but the candidate recorded as errors.

    Pairing drops such samples from the bootstrap, so without this a checkpoint
    that crashes on every sample would pass the gate.
    """
    shared = set(load_results(baseline)["tasks"]) & set(load_results(candidate)["tasks"])
    out = {}
    for task in sorted(shared):
        scored = set(_scores(baseline, task))
        failed = [r["id"] for r in _records(candidate, task) if "error" in r and r.get("id") in scored]
        if failed:
            out[task] = failed
    return out


def parse_max_drops(pairs: list[str]) -> dict[tuple[str, str], float]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        task, dot, metric = key.rpartition(".")
        if not sep or not dot:
            raise UsageError(f"--max-drop {pair!r}: expected task.metric=X")
        try:
            out[(task, metric)] = float(value)
        except ValueError:
            raise UsageError(f"--max-drop {pair!r}: {value!r} is not a number") from None
    return out


def compare_runs(baseline: Path, candidate: Path, max_drops: dict,
                 alpha: float = 0.05) -> tuple[list[Comparison], list[str]]:
    """Gate rows of every shared task's per-sample and headline metrics, and notes on what is not gateable."""
    base_results, cand_results = load_results(baseline), load_results(candidate)
    shared = sorted(set(base_results["tasks"]) & set(cand_results["tasks"]))
    if not shared:
        raise UsageError("the two runs share no task")
    rows, notes = [], []
    for task in shared:
        summary = base_results["tasks"][task]
        base, cand = _scores(baseline, task), _scores(candidate, task)
        ids = sorted(set(base) & set(cand))
        metrics = sorted({m for i in ids for m in base[i]} & {m for i in ids for m in cand[i]})
        primary = summary.get("primary")
        for metric in metrics:
            if not _measured_in_both(task, metric, (base_results, cand_results), notes):
                continue
            pairs = [(base[i][metric], cand[i][metric]) for i in ids
                     if is_number(base[i].get(metric)) and is_number(cand[i].get(metric))]
            if not pairs:
                notes.append(f"{task}.{metric}: not gated (undefined in every sample the runs share)")
                continue
            b, c = np.array(pairs, dtype=float).T
            lo, hi = paired_bootstrap_ci(c - b, alpha)
            found, why = detectable(_paired_sd(b, c) / np.sqrt(len(pairs)), alpha, "both runs constant")
            rows.append(Comparison(task, metric, len(pairs), float(b.mean()), float(c.mean()), float((c - b).mean()),
                                   lo, hi, metric_higher_is_better(summary, metric), max_drops.get((task, metric), 0.0),
                                   found, why))
        if primary and primary not in metrics and _measured_in_both(task, primary, (base_results, cand_results), notes):
            row, note = _headline_row(task, primary, (baseline, candidate), (base_results, cand_results), alpha)
            if row is not None:
                rows.append(Comparison(**{**row, "higher_is_better": metric_higher_is_better(summary, primary),
                                          "max_drop": max_drops.get((task, primary), 0.0)}))
            notes.append(note)
    unknown = sorted(set(max_drops) - {(r.task, r.metric) for r in rows})
    if unknown:
        raise UsageError(f"--max-drop {unknown[0][0]}.{unknown[0][1]}: no such gateable metric in both runs")
    return rows, notes


def _measured_in_both(task: str, metric: str, results: tuple[dict, dict], notes: list[str]) -> bool:
    """True when both runs measured `metric`; else add why it is not gated (undefined, None, in a run) to `notes`."""
    where = [(run, r["tasks"][task]) for run, r in zip(("baseline", "candidate"), results)
             if metric in r["tasks"][task].get("metrics", {}) and r["tasks"][task]["metrics"][metric] is None]
    if not where:
        return True
    reasons = [n for _, t in where for n in t.get("notes", []) if str(n).startswith(f"{metric} undefined")]
    why = f" ({reasons[0]})" if reasons else ""
    notes.append(f"{task}.{metric}: not gated: undefined in the {' and '.join(run for run, _ in where)} "
                 f"run{'s' if len(where) > 1 else ''}{why}")
    return False


# ----------------------------------------------------------------------------- headline metrics


def _headline_row(task: str, primary: str, dirs: tuple[Path, Path], results: tuple[dict, dict],
                  alpha: float) -> tuple[Optional[dict], str]:
    """The primary metric's paired cluster-bootstrap row (as Comparison fields), or None and why not."""
    why_not = f"{task}.{primary}: not gateable"
    try:
        base_task, cand_task = (task_from_results(task, r) for r in results)
    except Exception as exc:  # noqa: BLE001 - an unknown or unloadable task is a note, never a crash
        return None, f"{why_not} ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
    base_groups = groups_of(base_task, scored_records(dirs[0], task))
    cand_groups = groups_of(cand_task, scored_records(dirs[1], task))
    shared = sorted(set(base_groups) & set(cand_groups))
    if not shared:
        return None, f"{why_not} (no scored sample of one group in both runs)"
    base_value, cand_value = (_headline(t, g, shared, primary) for t, g in ((base_task, base_groups), (cand_task, cand_groups)))
    if base_value is None or cand_value is None:
        return None, f"{why_not} (the task cannot recompute it from scored records, or it is undefined on them)"
    if not _relabels(base_task, base_groups[shared[0]][0], shared[0]):
        return None, f"{why_not} (its resampling groups cannot be relabelled)"
    drawn = cluster_bootstrap_diffs(base_task, cand_task, base_groups, cand_groups, shared, primary)
    diffs = drawn[~np.isnan(drawn)]  # a resample where the metric is undefined (0/0) measured nothing
    if len(diffs) == 0:
        return None, f"{why_not} (undefined in every resample)"
    lo, hi = float(np.quantile(diffs, alpha / 2)), float(np.quantile(diffs, 1 - alpha / 2))
    sd = float(np.std(diffs, ddof=1)) if len(diffs) > 1 else float("nan")  # the bootstrap sd is the standard error
    min_detectable, why = detectable(sd, alpha, "every resample gives the same difference")
    left_out = f"; {len(drawn) - len(diffs)} resamples where it is undefined left out" if len(diffs) < len(drawn) else ""
    note = (f"{task}.{primary}: paired cluster bootstrap over {len(shared)} groups "
            f"({CLUSTER_BOOTSTRAP_SAMPLES} resamples; not a mean of per-sample scores{left_out})")
    return dict(task=task, metric=primary, n=len(shared), baseline=base_value, candidate=cand_value,
                diff=cand_value - base_value, ci_low=lo, ci_high=hi, min_detectable=min_detectable,
                why_no_detectable=why), note


def task_from_results(name: str, results: dict):
    """The registered task, built with the settings the run recorded (they define its protocol)."""
    from .registry import TASKS

    cls = TASKS.get(name)
    recorded = (results.get("config", {}).get("tasks", {}).get(name) or {}).get("settings") or {}
    settings = {k: v for k, v in recorded.items() if k in cls.default_settings}
    # JSON reads a tuple setting back as a list
    return cls(**{k: tuple(v) if isinstance(v, list) and isinstance(cls.default_settings[k], tuple) else v
                  for k, v in settings.items()})


def scored_records(run_dir: Path, task: str) -> list[dict]:
    return [r for r in _records(run_dir, task) if "scores" in r and "error" not in r]


def groups_of(task, records: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for r in records:
        groups.setdefault(str(task.group_of(r)), []).append(r)
    return groups


def _headline(task, groups: dict[str, list[dict]], shared: list[str], primary: str) -> Optional[float]:
    value = (task.aggregate([r for g in shared for r in groups[g]]) or {}).get(primary)
    return None if value is None else float(value)


def _relabel(record: dict, group: str, draw: int) -> dict:
    """A copy of a record for draw position `draw`: its id and every field holding its group id get a suffix,
    so a group drawn twice counts as two groups (MME pairs an image's questions by `question_id`)."""
    label = f"{group}#{draw}"
    copy = {k: (label if isinstance(v, str) and v == group else v) for k, v in record.items()}
    copy["id"] = label if record["id"] == group else f"{record['id']}#{draw}"
    return copy


def _relabels(task, record: dict, group: str) -> bool:
    """True when the task sees a relabelled record in the relabelled group (its group is a plain field)."""
    try:
        return str(task.group_of(_relabel(record, group, 0))) == f"{group}#0"
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
        base_value, cand_value = (_number((task.aggregate(resampled_records(groups, drawn)) or {}).get(primary))
                                  for task, groups in ((base_task, base_groups), (cand_task, cand_groups)))
        diffs[b] = cand_value - base_value
    return diffs


def _number(value) -> float:
    return float(value) if is_number(value) else float("nan")


def resampled_records(groups: dict[str, list[dict]], drawn: list[str]) -> list[dict]:
    """The records of the drawn groups, each draw relabelled so that a group drawn twice is two groups."""
    return [_relabel(r, g, j) for j, g in enumerate(drawn) for r in groups[g]]


# ----------------------------------------------------------------------------- like for like


def mismatches(baseline: Path, candidate: Path) -> list[str]:
    """Why the candidate is not the baseline's experiment: tasks, seed, limit, protocol settings, sample ids.

    A candidate with 5 of 200 samples, or 1 of 5 tasks, would otherwise pass the gate on what it has.
    """
    base, cand = load_results(baseline), load_results(candidate)
    out = []
    if set(base["tasks"]) != set(cand["tasks"]):
        out.append(f"tasks differ (baseline {_names(base['tasks'])}; candidate {_names(cand['tasks'])})")
    base_cfg, cand_cfg = base.get("config", {}), cand.get("config", {})
    if "seed" in base_cfg and "seed" in cand_cfg and base_cfg["seed"] != cand_cfg["seed"]:
        out.append(f"seed differs (baseline {base_cfg['seed']}, candidate {cand_cfg['seed']})")
    # a limit above every task's size left nothing out: the run is the whole set, as without one
    if "limit" in base_cfg and "limit" in cand_cfg and effective_limit(base) != effective_limit(cand):
        out.append(f"limit differs (baseline {base_cfg['limit']}, candidate {cand_cfg['limit']})")
    for task in sorted(set(base["tasks"]) & set(cand["tasks"])):
        changed = _changed_keys(_protocol(base_cfg, task), _protocol(cand_cfg, task))
        if changed:
            out.append(f"{task}: protocol settings differ ({', '.join(changed[:4])}{', ...' if len(changed) > 4 else ''})")
        base_ids, cand_ids = ({r.get("id") for r in _records(d, task)} for d in (baseline, candidate))
        if base_ids != cand_ids:
            out.append(f"{task}: sample ids differ (baseline {len(base_ids)}, candidate {len(cand_ids)}, "
                       f"{len(base_ids & cand_ids)} shared)")
    return out


def _names(tasks: dict) -> str:
    return ", ".join(sorted(tasks)) or "none"


def _protocol(config: dict, task: str) -> Any:
    """A task's recorded config without the keys that only change speed or output paths."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in NOT_PROTOCOL}
        return value

    return strip((config.get("tasks") or {}).get(task))


def _changed_keys(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Dotted paths at which two JSON values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [path for k in sorted(set(a) | set(b), key=str)
                for path in _changed_keys(a.get(k), b.get(k), f"{prefix}{k}.")]
    return [] if a == b else [prefix.rstrip(".") or "config"]


def format_table(rows: list[Comparison], alpha: float) -> str:
    level = f"{100 * (1 - alpha):g}% CI"
    lines = [f"| task | metric | n | baseline | candidate | diff | {level} | detectable drop | allowed drop | better | verdict |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        verdict = "FAIL" if r.failed else ("drop (within margin)" if r.significant_drop else "ok")
        found = f"{r.min_detectable:.3g}" if np.isfinite(r.min_detectable) else f"n/a ({r.why_no_detectable or 'unknown'})"
        lines.append(f"| {r.task} | {r.metric} | {r.n} | {r.baseline:.4g} | {r.candidate:.4g} | {r.diff:+.4g} | "
                     f"[{r.ci_low:+.4g}, {r.ci_high:+.4g}] | {found} | {r.max_drop:g} | "
                     f"{'higher' if r.higher_is_better else 'lower'} | {verdict} |")
    lines.append(f"(detectable drop: the smallest true drop this many samples detect at alpha {alpha:g} "
                 f"with {POWER:.0%} power; smaller drops can pass the gate unseen)")
    return "\n".join(lines)
