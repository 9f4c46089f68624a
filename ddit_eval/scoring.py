"""The one scoring path of `run`, `score` and the probe: records in, a results.json task entry out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from .api import GENERATE_IMAGES, Evaluation, Task
from .results import is_number
from .schema import TaskSummary


@dataclass
class TaskOutcome:
    """What running a task produced: its results.json summary, the task's own Evaluation, and the scored
    records in sample order (image paths absolute), so plots never re-read the log or re-run a scorer."""

    summary: TaskSummary
    evaluation: Evaluation
    records: list[dict]


def absolute_image_paths(records: Sequence[dict], base: Path) -> list[dict]:
    """Image predictions are stored relative to the samples folder; scorers get absolute paths."""
    return [{**r, "prediction": [str((base / p).resolve()) for p in r["prediction"]]} for r in records]


def score_records(task: Task, ordered: Sequence[dict], image_base: Path, limit: Optional[int] = None,
                  chosen_by: Optional[str] = None) -> TaskOutcome:
    """Score a task's records (errors included, in sample order): the one scoring path of `run` and `score`.

    Image predictions are paths relative to `image_base`; the scorer and the returned records get
    absolute ones.  The summary says how many samples failed, with examples, and what --limit left out.
    """
    ok = [r for r in ordered if "error" not in r]
    scorable = absolute_image_paths(ok, image_base) if task.request_kind == GENERATE_IMAGES else ok
    evaluation = task.evaluate(scorable) if ok else Evaluation(metrics={}, per_sample=[], notes=[])
    if len(evaluation.per_sample) != len(ok):
        raise RuntimeError(f"task {task.name!r} returned {len(evaluation.per_sample)} per-sample scores for {len(ok)} records")
    summary = task_summary(task, ordered, evaluation, limit, chosen_by)
    return TaskOutcome(summary, evaluation, [{**r, "scores": s} for r, s in zip(scorable, evaluation.per_sample)])


def task_summary(task: Task, ordered: Sequence[dict], evaluation: Evaluation, limit: Optional[int] = None,
                 chosen_by: Optional[str] = None) -> TaskSummary:
    """A task's results.json entry from its records (errors included) and their Evaluation: how many samples
    failed, with examples, and what --limit left out (`chosen_by`: how a stratified --limit chose them).
    Every way of running a task writes this shape."""
    ok = sum("error" not in r for r in ordered)
    errors = [r for r in ordered if "error" in r]
    notes = list(evaluation.notes)
    if errors:  # the metrics cover the scored samples only; say how many that is
        first = str(errors[0]["error"]).strip().splitlines()[0]
        notes.append(f"scored {ok} of {len(ordered)} samples; {len(errors)} failed" if ok
                     else f"no sample scored: all {len(ordered)} failed, e.g. {first}")
    elif not ok:
        notes.append("no sample scored: the task selected no samples")
    if limit is not None and len(ordered) >= limit:
        notes.append(chosen_by or f"scored the first {len(ordered)} samples only (--limit {limit})")
    elif limit is not None:  # fewer samples than the limit: none was left out
        notes.append(f"--limit {limit} exceeds the {len(ordered)} samples: all {len(ordered)} "
                     f"{'selected' if errors else 'scored'}")
    intervals, why_not = headline_interval(task, [r for r in ordered if "error" not in r], evaluation)
    if why_not:
        notes.append(why_not)
    return TaskSummary(metrics=evaluation.metrics, primary=task.primary_metric, n=ok, errors=len(errors),
                       lower_is_better=sorted(evaluation.lower_is_better),  # per metric: `compare` gates each its own way
                       error_examples=[{"id": r["id"], "error": r["error"]} for r in errors[:5]], notes=notes,
                       intervals=intervals)


def headline_interval(task, scored: Sequence[dict], evaluation: Evaluation) -> tuple[dict[str, list[float]], str]:
    """The headline's 95% bootstrap interval ({metric: [low, high]}), by compare's resampling: over samples for a
    mean of per-sample scores, over the task's groups (MME image pairs, GenEval prompts) otherwise; or why none."""
    from .paper.intervals import metric_intervals

    primary = task.primary_metric
    if not primary or not is_number(evaluation.metrics.get(primary)):
        return {}, ""  # nothing measured (a submission, or an undefined headline, whose notes say why)
    if len(scored) < 2:
        return {}, f"{primary}: no 95% interval (n={len(scored)}: nothing to resample)"
    records = [{**r, "scores": s} for r, s in zip(scored, evaluation.per_sample)]
    found = metric_intervals(records, [primary], task if isinstance(task, Task) else None)
    if primary not in found:
        return {}, f"{primary}: no 95% interval (not a mean of per-sample scores, and not recomputable from them)"
    return {primary: [round(v, 6) for v in found[primary]]}, ""
