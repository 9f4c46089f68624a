"""The checkpoint gate: paired per-sample differences with bootstrap confidence intervals.

Headline metrics that are not means of per-sample scores (MME perception, GenEval overall)
are gated by a paired cluster bootstrap: the task's `group_of` units are resampled and its
`aggregate` recomputes the metric from the stored scored records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .bootstrap import (CLUSTER_BOOTSTRAP_SAMPLES, POWER, cluster_bootstrap_diffs, detectable, groups_of, headline_value,
                        paired_bootstrap_ci, paired_sd, relabels)
from .errors import UsageError
from .json_diff import changed_paths
from .results import is_number
from .saved_run import SavedRun
from .schema import RunResults

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


@dataclass(frozen=True)
class Gate:
    """Everything the checkpoint gate found, computed once for the terminal and the `--html` page."""

    rows: list[Comparison]
    notes: list[str]
    broken: dict[str, list[str]]  # task -> ids the baseline scored and the candidate failed
    mismatched: list[str]  # why the candidate is not the baseline's experiment


def gate(baseline: SavedRun, candidate: SavedRun, max_drops: dict, alpha: float = 0.05) -> Gate:
    rows, notes = compare_runs(baseline, candidate, max_drops, alpha)
    return Gate(rows, notes, new_failures(baseline, candidate), mismatches(baseline, candidate))


def new_failures(baseline: SavedRun, candidate: SavedRun) -> dict[str, list[str]]:
    """Per shared task, the ids the baseline scored but the candidate recorded as errors.

    Pairing drops such samples from the bootstrap, so without this a checkpoint
    that crashes on every sample would pass the gate.
    """
    shared = set(baseline.results.tasks) & set(candidate.results.tasks)
    out = {}
    for task in sorted(shared):
        scored = set(baseline.scores(task))
        failed = [r["id"] for r in candidate.records(task) if "error" in r and r.get("id") in scored]
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


def compare_runs(baseline: SavedRun, candidate: SavedRun, max_drops: dict,
                 alpha: float = 0.05) -> tuple[list[Comparison], list[str]]:
    """Gate rows of every shared task's per-sample and headline metrics, and notes on what is not gateable."""
    results = (baseline.results, candidate.results)
    shared = sorted(set(results[0].tasks) & set(results[1].tasks))
    if not shared:
        raise UsageError("the two runs share no task")
    rows, notes = [], []
    for task in shared:
        summary = results[0].tasks[task]
        base, cand = baseline.scores(task), candidate.scores(task)
        ids = sorted(set(base) & set(cand))
        metrics = sorted({m for i in ids for m in base[i]} & {m for i in ids for m in cand[i]})
        primary = summary.primary
        for metric in metrics:
            if not _measured_in_both(task, metric, results, notes):
                continue
            pairs = [(base[i][metric], cand[i][metric]) for i in ids
                     if is_number(base[i].get(metric)) and is_number(cand[i].get(metric))]
            if not pairs:
                notes.append(f"{task}.{metric}: not gated (undefined in every sample the runs share)")
                continue
            b, c = np.array(pairs, dtype=float).T
            lo, hi = paired_bootstrap_ci(c - b, alpha)
            found, why = detectable(paired_sd(b, c) / np.sqrt(len(pairs)), alpha, "both runs constant")
            rows.append(Comparison(task, metric, len(pairs), float(b.mean()), float(c.mean()), float((c - b).mean()),
                                   lo, hi, summary.higher_is_better(metric), max_drops.get((task, metric), 0.0),
                                   found, why))
        if primary and primary not in metrics and _measured_in_both(task, primary, results, notes):
            row, note = _headline_row(task, primary, (baseline, candidate), alpha)
            if row is not None:
                rows.append(Comparison(**{**row, "higher_is_better": summary.higher_is_better(primary),
                                          "max_drop": max_drops.get((task, primary), 0.0)}))
            notes.append(note)
    unknown = sorted(set(max_drops) - {(r.task, r.metric) for r in rows})
    if unknown:
        raise UsageError(f"--max-drop {unknown[0][0]}.{unknown[0][1]}: no such gateable metric in both runs")
    return rows, notes


def _measured_in_both(task: str, metric: str, results: tuple[RunResults, RunResults], notes: list[str]) -> bool:
    """True when both runs measured `metric`; else add why it is not gated (undefined, None, in a run) to `notes`."""
    where = [(run, r.tasks[task]) for run, r in zip(("baseline", "candidate"), results)
             if metric in r.tasks[task].metrics and r.tasks[task].metrics[metric] is None]
    if not where:
        return True
    reasons = [n for _, t in where for n in t.notes if str(n).startswith(f"{metric} undefined")]
    why = f" ({reasons[0]})" if reasons else ""
    notes.append(f"{task}.{metric}: not gated: undefined in the {' and '.join(run for run, _ in where)} "
                 f"run{'s' if len(where) > 1 else ''}{why}")
    return False


# ----------------------------------------------------------------------------- headline metrics


def _headline_row(task: str, primary: str, runs: tuple[SavedRun, SavedRun], alpha: float) -> tuple[Optional[dict], str]:
    """The primary metric's paired cluster-bootstrap row (as Comparison fields), or None and why not."""
    why_not = f"{task}.{primary}: not gateable"
    try:
        base_task, cand_task = (run.task(task) for run in runs)
    except Exception as exc:  # noqa: BLE001 - an unknown or unloadable task is a note, never a crash
        return None, f"{why_not} ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
    if base_task is None or cand_task is None:
        return None, f"{why_not} (not a task of samples: its headline is not recomputed from records)"
    base_groups = groups_of(base_task, runs[0].scored_records(task))
    cand_groups = groups_of(cand_task, runs[1].scored_records(task))
    shared = sorted(set(base_groups) & set(cand_groups))
    if not shared:
        return None, f"{why_not} (no scored sample of one group in both runs)"
    base_value, cand_value = (headline_value(t, g, shared, primary)
                              for t, g in ((base_task, base_groups), (cand_task, cand_groups)))
    if base_value is None or cand_value is None:
        return None, f"{why_not} (the task cannot recompute it from scored records, or it is undefined on them)"
    if not relabels(base_task, base_groups[shared[0]][0], shared[0]):
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


# ----------------------------------------------------------------------------- like for like


def mismatches(baseline: SavedRun, candidate: SavedRun) -> list[str]:
    """Why the candidate is not the baseline's experiment: tasks, seed, limit, protocol settings, sample ids.

    A candidate with 5 of 200 samples, or 1 of 5 tasks, would otherwise pass the gate on what it has.
    """
    base, cand = baseline.results, candidate.results
    out = []
    if set(base.tasks) != set(cand.tasks):
        out.append(f"tasks differ (baseline {_names(base.tasks)}; candidate {_names(cand.tasks)})")
    base_cfg, cand_cfg = base.config, cand.config
    if "seed" in base_cfg and "seed" in cand_cfg and base_cfg["seed"] != cand_cfg["seed"]:
        out.append(f"seed differs (baseline {base_cfg['seed']}, candidate {cand_cfg['seed']})")
    # a limit above every task's size left nothing out: the run is the whole set, as without one
    if "limit" in base_cfg and "limit" in cand_cfg and base.effective_limit() != cand.effective_limit():
        out.append(f"limit differs (baseline {base_cfg['limit']}, candidate {cand_cfg['limit']})")
    for task in sorted(set(base.tasks) & set(cand.tasks)):
        changed = changed_paths(_protocol(base_cfg, task), _protocol(cand_cfg, task))
        if changed:
            out.append(f"{task}: protocol settings differ ({', '.join(changed[:4])}{', ...' if len(changed) > 4 else ''})")
        base_ids, cand_ids = ({r.get("id") for r in run.records(task)} for run in (baseline, candidate))
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
