"""Drive one task: build requests, batch them through the model, log every sample, score.

Predictions are appended to `samples/<task>.jsonl` batch by batch; samples
already there are skipped, so re-running the same command resumes.  A
sample that fails is logged with its error, never scored as an empty answer.
"""

from __future__ import annotations

import hashlib
import re
import time
import traceback
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Sequence

from .api import GENERATE_IMAGES, Evaluation, Model, Sample, Task
from .prefetch import prefetched_batches
from .progress import Progress
from .results import SampleLog
from .seeding import sample_seed


@dataclass(frozen=True)
class RunOptions:
    batch_size: int = 8
    limit: int | None = None
    seed: int = 0
    max_errors: int | None = None
    retry_errors: bool = False
    loader_workers: int = 4  # threads that open and decode images ahead of the model (0: in the model's thread)


class RunAborted(Exception):
    """Too many sample errors; what was computed is on disk."""


def select_samples(task: Task, limit: int | None) -> list[Sample]:
    samples = list(islice(task.samples(), limit))
    seen: set[str] = set()
    for s in samples:
        if s.id in seen:
            raise ValueError(f"task {task.name!r} yields sample id {s.id!r} twice")
        seen.add(s.id)
    return samples


def _file_stem(sample_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", sample_id)
    if safe != sample_id:
        safe += "-" + hashlib.sha1(sample_id.encode()).hexdigest()[:8]
    return safe


def _error(exc: BaseException) -> dict:
    return {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(limit=4)}


def absolute_image_paths(records: Sequence[dict], base: Path) -> list[dict]:
    """Image predictions are stored relative to the samples folder; scorers get absolute paths."""
    return [{**r, "prediction": [str((base / p).resolve()) for p in r["prediction"]]} for r in records]


class TaskRunner:
    """Runs tasks against one model into one run folder."""

    def __init__(self, model: Model, run_dir: Path, options: RunOptions) -> None:
        self.model, self.run_dir, self.options = model, Path(run_dir), options
        self.samples_dir = self.run_dir / "samples"
        self.errors_seen = 0

    def run(self, task: Task) -> dict[str, Any]:
        log = SampleLog(self.samples_dir / f"{task.name}.jsonl")
        samples = select_samples(task, self.options.limit)
        done = {r["id"]: r for r in log.load()}
        if self.options.retry_errors and any("error" in r for r in done.values()):
            done = {i: r for i, r in done.items() if "error" not in r}
            log.rewrite(done.values())
        self.errors_seen += sum("error" in r for r in done.values())
        pending = [s for s in samples if s.id not in done]

        start = time.monotonic()
        self.model_s = 0.0
        progress = Progress(len(samples), task.name, initial=len(samples) - len(pending))
        built = prefetched_batches(pending, lambda sample: self._build(task, sample), self.options.batch_size,
                                   self.options.loader_workers)
        try:
            for batch in built:
                records = self._run_batch(task, batch)
                log.append(records)
                done.update((r["id"], r) for r in records)
                progress.update(len(records))
                self._check_errors(sum("error" in r for r in records))
        finally:
            built.close()
            progress.close()
        compute_s = time.monotonic() - start

        ordered = [done[s.id] for s in samples]
        start = time.monotonic()
        summary = self._score(task, log, ordered)
        summary["timing"] = {
            "compute_s": round(compute_s, 3),
            "computed_samples": len(pending),
            "samples_per_s": round(len(pending) / compute_s, 3) if compute_s > 0 and pending else None,
            "model_s": round(self.model_s, 3),  # inside model calls; compute_s - model_s is the harness's share
            "score_s": round(time.monotonic() - start, 3),
        }
        return summary

    def _check_errors(self, new: int) -> None:
        self.errors_seen += new
        limit = self.options.max_errors
        if limit is not None and self.errors_seen > limit:
            raise RunAborted(f"{self.errors_seen} sample errors exceed --max-errors {limit}; results so far are saved")

    def _build(self, task: Task, sample: Sample) -> tuple[Sample, dict, Any]:
        """Loader side (a worker thread): the sample's record and its model request, or None if it failed."""
        seed = sample_seed(self.options.seed, task.name, sample.id)
        record = {"id": sample.id, "seed": seed, **task.describe_sample(sample)}
        try:
            request = task.build_request(sample, seed)
            prepare = getattr(self.model, "prepare", None)
            if prepare is not None:
                request = prepare(request)
        except Exception as exc:  # a bad input (corrupt image) fails its sample only
            record.update(_error(exc))
            return sample, record, None
        if getattr(request, "prompt", None) is not None:  # the text the model saw, after the task's template
            record.setdefault("prompt", request.prompt)
        return sample, record, request

    def _run_batch(self, task: Task, batch: Sequence[tuple[Sample, dict, Any]]) -> list[dict]:
        records = {sample.id: record for sample, record, _ in batch}
        pending = [(sample, request) for sample, _, request in batch if request is not None]
        start = time.monotonic()
        outputs = self._call_model(task.request_kind, [req for _, req in pending])
        self.model_s += time.monotonic() - start
        for (sample, _), output in zip(pending, outputs):
            if isinstance(output, BaseException):
                records[sample.id].update(output.args[0] if isinstance(output, _RowError) else _error(output))
            elif task.request_kind == GENERATE_IMAGES:
                records[sample.id]["prediction"] = self._save_images(task, sample, output)
            else:
                records[sample.id]["prediction"] = output
        return [records[sample.id] for sample, _, _ in batch]

    def _call_model(self, kind: str, requests: list) -> list:
        """One batched call; if it raises, retry row by row so only the failing rows fail."""
        if not requests:
            return []
        method = getattr(self.model, kind)
        try:
            outputs = method(requests)
            if len(outputs) != len(requests):
                raise RuntimeError(f"model returned {len(outputs)} outputs for {len(requests)} requests")
            return list(outputs)
        except Exception as exc:
            if len(requests) == 1:
                return [_RowError(_error(exc))]
        return [self._call_model(kind, [r])[0] for r in requests]

    def _save_images(self, task: Task, sample: Sample, images) -> list[str]:
        folder = self.samples_dir / task.name
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for k, image in enumerate(images):
            rel = f"{task.name}/{_file_stem(sample.id)}_{k}.png"
            image.save(self.samples_dir / rel)
            paths.append(rel)
        return paths

    def _score(self, task: Task, log: SampleLog, ordered: list[dict]) -> dict[str, Any]:
        ok = [r for r in ordered if "error" not in r]
        scorable = absolute_image_paths(ok, self.samples_dir) if task.request_kind == GENERATE_IMAGES else ok
        evaluation = task.evaluate(scorable) if ok else Evaluation(metrics={}, per_sample=[], notes=[])
        if len(evaluation.per_sample) != len(ok):
            raise RuntimeError(f"task {task.name!r} returned {len(evaluation.per_sample)} per-sample scores for {len(ok)} records")
        scores = {r["id"]: s for r, s in zip(ok, evaluation.per_sample)}
        log.rewrite([{**r, "scores": scores[r["id"]]} if r["id"] in scores else r for r in ordered])
        errors = [r for r in ordered if "error" in r]
        notes = list(evaluation.notes)
        if errors:  # the metrics cover the scored samples only; say how many that is
            first = str(errors[0]["error"]).strip().splitlines()[0]
            notes.append(f"scored {len(ok)} of {len(ordered)} samples; {len(errors)} failed" if ok
                         else f"no sample scored: all {len(ordered)} failed, e.g. {first}")
        elif not ok:
            notes.append("no sample scored: the task selected no samples")
        if self.options.limit is not None:
            notes.append(f"scored the first {len(ordered)} samples only (--limit {self.options.limit})")
        return {
            "metrics": evaluation.metrics,
            "primary": task.primary_metric,
            "higher_is_better": task.higher_is_better,
            "n": len(ok),
            "errors": len(errors),
            "error_examples": [{"id": r["id"], "error": r["error"]} for r in errors[:5]],
            "notes": notes,
        }


class _RowError(Exception):
    """A row's failure, carrying the error record taken where it was raised."""
