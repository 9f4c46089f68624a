"""The checkpoint gate: paired per-sample differences with bootstrap confidence intervals."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import UsageError
from .results import load_results, read_jsonl

BOOTSTRAP_SAMPLES = 2000


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


def compare_runs(baseline: Path, candidate: Path, max_drops: dict, alpha: float = 0.05) -> list[Comparison]:
    base_results, cand_results = load_results(baseline), load_results(candidate)
    shared = sorted(set(base_results["tasks"]) & set(cand_results["tasks"]))
    if not shared:
        raise UsageError("the two runs share no task")
    rows, used = [], set()
    for task in shared:
        higher = base_results["tasks"][task].get("higher_is_better", True)
        base, cand = _scores(baseline, task), _scores(candidate, task)
        ids = sorted(set(base) & set(cand))
        metrics = sorted({m for i in ids for m in base[i]} & {m for i in ids for m in cand[i]})
        for metric in metrics:
            pairs = [(base[i][metric], cand[i][metric]) for i in ids if metric in base[i] and metric in cand[i]]
            b, c = np.array(pairs, dtype=float).T
            lo, hi = paired_bootstrap_ci(c - b, alpha)
            used.add((task, metric))
            rows.append(Comparison(task, metric, len(pairs), float(b.mean()), float(c.mean()), float((c - b).mean()),
                                   lo, hi, higher, max_drops.get((task, metric), 0.0)))
    unknown = sorted(set(max_drops) - used)
    if unknown:
        raise UsageError(f"--max-drop {unknown[0][0]}.{unknown[0][1]}: no such per-sample metric in both runs")
    return rows


def format_table(rows: list[Comparison], alpha: float) -> str:
    level = f"{100 * (1 - alpha):g}% CI"
    lines = [f"| task | metric | n | baseline | candidate | diff | {level} | allowed drop | verdict |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        verdict = "FAIL" if r.failed else ("drop (within margin)" if r.significant_drop else "ok")
        lines.append(f"| {r.task} | {r.metric} | {r.n} | {r.baseline:.4g} | {r.candidate:.4g} | {r.diff:+.4g} | "
                     f"[{r.ci_low:+.4g}, {r.ci_high:+.4g}] | {r.max_drop:g} | {verdict} |")
    return "\n".join(lines)
