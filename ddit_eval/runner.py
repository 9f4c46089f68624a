"""Drive one task: build requests, batch them through the model, log every sample, score.

Predictions are appended to `samples/<task>.jsonl` batch by batch; samples
already there are skipped, so re-running the same command resumes.  A
sample that fails is logged with its error, never scored as an empty answer.
"""

from __future__ import annotations

import hashlib
import re
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from .api import GENERATE_IMAGES, Model, Sample, Task
from .distributed import World
from .prefetch import prefetched_batches
from .progress import Progress
from .results import SampleLog
from .run_folder import RunFolder
from .scoring import TaskOutcome, score_records
from .seeding import sample_seed
from .selection import select_samples


@dataclass(frozen=True)
class RunOptions:
    batch_size: int = 8
    limit: int | None = None
    seed: int = 0
    max_errors: int | None = None
    retry_errors: bool = False
    loader_workers: int = 4  # threads that open and decode images ahead of the model (0: in the model's thread)
    threads: Optional[int] = None  # torch's CPU threads; None: from the usable cores (cpu_threads.py)


class RunAborted(Exception):
    """Too many sample errors; what was computed is on disk."""


def _read_only(log: SampleLog) -> list[dict]:
    """Ranks other than 0 read the task's log without repairing it: only rank 0 writes it."""
    from .results import read_jsonl

    return read_jsonl(log.path) if log.path.exists() else []


def _file_stem(sample_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", sample_id)
    if safe != sample_id:
        safe += "-" + hashlib.sha1(sample_id.encode()).hexdigest()[:8]
    return safe


def _error(exc: BaseException) -> dict:
    return {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(limit=4)}


class TaskRunner:
    """Runs tasks against one model into one run folder; under torchrun, this rank's share of each task.

    Every rank appends its records to its own log (`samples/<task>.rank<k>.jsonl`); rank 0 folds the
    rank logs into `samples/<task>.jsonl` before a task starts and after its samples are done, then
    scores once.  The pending samples are split only after that fold, so a run killed at one world size
    resumes at any other with no sample lost or computed twice.
    """

    def __init__(self, model: Model, run_dir: Path, options: RunOptions, world: World = World()) -> None:
        self.model, self.run_dir, self.options, self.world = model, Path(run_dir), options, world
        self.folder = RunFolder(run_dir)
        self.samples_dir = self.folder.samples_dir
        self.errors_seen = 0
        self.model_s = 0.0  # seconds inside model calls, for the task being run

    def run(self, task: Task) -> Optional[TaskOutcome]:
        """Compute this rank's share of the pending samples; rank 0 then scores. Other ranks return None."""
        log = self.folder.sample_log(task.name)
        if self.world.is_main:
            logged = self._fold_rank_logs(task.name, log, drop_errors=self.options.retry_errors)
            self.errors_seen += sum("error" in r for r in logged)
        self.world.barrier()  # every rank reads the folded log: all agree on what is pending
        selection = select_samples(task, self.options.limit, self.options.seed)
        samples = selection.samples
        if not self.world.is_main:
            logged = _read_only(log)
        done = {r["id"] for r in logged}  # ids only: records stay on disk until scoring, so memory stays flat
        del logged
        pending = [s for s in samples if s.id not in done]
        mine = self.world.share(pending)

        start = time.monotonic()
        self.model_s = 0.0
        self.model.take_notes()  # what earlier tasks left: this task's notes are its own
        computed = self._compute(task, mine, len(samples) - len(pending), len(samples))
        model_notes = self.model.take_notes()  # e.g. prompts clamped to the model's text window (this rank's)
        compute_s = time.monotonic() - start
        self.world.barrier()  # every rank's share is on disk
        if not self.world.is_main:
            return None

        if self.world.distributed:
            self._fold_rank_logs(task.name, log, drop_errors=False)
        by_id = {r["id"]: r for r in log.load()}
        ordered = [by_id[s.id] for s in samples]
        del by_id
        start = time.monotonic()
        outcome = self._score(task, log, ordered, selection.note)
        summary = outcome.summary
        summary.notes.extend(model_notes)
        summary.timing = {
            "compute_s": round(compute_s, 3),
            "computed_samples": len(pending),
            "samples_per_s": round(len(pending) / compute_s, 3) if compute_s > 0 and pending else None,
            "model_s": round(self.model_s, 3),  # inside model calls; compute_s - model_s is the harness's share
            "score_s": round(time.monotonic() - start, 3),
        }
        if self.world.distributed:
            summary.timing["world_size"] = self.world.size
            summary.timing["rank0_computed_samples"] = computed
        return outcome

    def _compute(self, task: Task, mine: list[Sample], initial: int, total: int) -> int:
        """Run this rank's samples batch by batch into its log; returns how many it finished."""
        world = self.world
        log = self.folder.rank_log(task.name, world.rank) if world.distributed else self.folder.sample_log(task.name)
        desc = f"{task.name} [rank {world.rank}/{world.size}]" if world.distributed else task.name
        progress = (Progress(len(mine), desc, bar=world.is_main) if world.distributed  # a rank counts its own share
                    else Progress(total, desc, initial=initial))
        built = prefetched_batches(mine, lambda sample: self._build(task, sample), self.options.batch_size,
                                   self.options.loader_workers)
        finished = 0
        try:
            for batch in built:
                records = self._run_batch(task, batch)
                log.append(records)
                finished += len(records)
                progress.update(len(records))
                self._check_errors(sum("error" in r for r in records))
        except BaseException as exc:
            if world.distributed:  # the launcher reports a dead worker; this line says which rank and what it kept
                print(f"error: rank {world.rank} of {world.size} failed in task {task.name!r} after {finished} of its "
                      f"{len(mine)} samples (kept in {log.path}): {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            raise
        finally:
            built.close()
            progress.close()
        return finished

    def _fold_rank_logs(self, task_name: str, log: SampleLog, drop_errors: bool) -> list[dict]:
        """Rank 0: move every rank log's records (from this run or a killed one at any world size) into the
        task's log, each id once, then delete the rank logs; with `drop_errors`, failed samples go too.
        Returns the log's records."""
        rank_logs = self.folder.rank_logs(task_name)
        records = log.load()
        if not rank_logs and not (drop_errors and any("error" in r for r in records)):
            return records
        seen = {r["id"] for r in records}
        for rank_log in rank_logs:
            for record in rank_log.load():
                if record["id"] not in seen:
                    seen.add(record["id"])
                    records.append(record)
        if drop_errors:
            records = [r for r in records if "error" not in r]
        log.rewrite(records)  # written before the rank logs go: a crash in between leaves duplicates, never losses
        for rank_log in rank_logs:
            rank_log.path.unlink()
        return records

    def _check_errors(self, new: int) -> None:
        self.errors_seen += new
        limit = self.options.max_errors
        if limit is not None and self.errors_seen > limit:
            raise RunAborted(f"{self.errors_seen} sample errors exceed --max-errors {limit}; results so far are saved")

    def _build(self, task: Task, sample: Sample) -> tuple[Sample, dict, Any]:
        """Loader side (a worker thread): the sample's record and its model request, or None if it failed."""
        seed = sample_seed(self.options.seed, task.seed_scope, sample.id)
        record = {"id": sample.id, "seed": seed, **task.describe_sample(sample)}
        try:
            request = task.build_request(sample, seed)
            request = self.model.prepare(request)
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
        folder = self.folder.task_dir(task.name)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for k, image in enumerate(images):
            path = folder / f"{_file_stem(sample.id)}_{k}.png"
            image.save(path)
            paths.append(path.relative_to(self.samples_dir).as_posix())  # relative to samples/, as the log stores
        return paths

    def _score(self, task: Task, log: SampleLog, ordered: list[dict], chosen_by: Optional[str]) -> TaskOutcome:
        """Score, and write each sample's scores into its log line."""
        outcome = score_records(task, ordered, self.samples_dir, self.options.limit, chosen_by)
        scores = {r["id"]: r["scores"] for r in outcome.records}
        log.rewrite({**r, "scores": scores[r["id"]]} if r["id"] in scores else r for r in ordered)
        return outcome


class _RowError(Exception):
    """A row's failure, carrying the error record taken where it was raised."""
