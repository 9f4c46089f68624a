"""The life of a `run` and of a `score`, start to finish, in one place (cli.py only parses arguments).

A run: check what can be checked without a model (`check_plan`), take the folder (RunFolder:
lock, fingerprint, resume), load the model, run each task through TaskRunner (this rank's share
under torchrun / accelerate), then `finish_task`: plots and extra outputs from the task's own
Evaluation and scored records, and results.json.  `score` builds records from predictions made
elsewhere and goes through the same `score_records` and `finish_task`, so its results carry the
same fields as a run's.
"""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from . import reports
from .api import Benchmark, Cell, Pipeline, Task
from .backends import check_load_options, check_model_spec, check_serves
from .cpu_threads import restore_torch_threads, set_torch_threads, thread_facts, torch_threads_now
from .distributed import World, world_from_env
from .errors import UsageError
from .headlines import terminal_summary
from .html_report import write_run_html
from .provenance import versions
from .results import DISK_FULL
from .run_folder import RUN_FILES, RunFolder
from .runner import RunAborted, RunOptions, TaskRunner
from .schema import RunResults, TaskSummary
from .scoring import TaskOutcome, score_records


@dataclass
class RunPlan:
    """What the user asked for: the tasks (ablations already expanded into cells), the model, the folder."""

    tasks: dict[str, Benchmark]
    model: str
    folder: RunFolder
    options: RunOptions
    device: str = "auto"
    dtype: str = "auto"
    mask_embedding: Optional[str] = None
    call_rows: Optional[int] = None  # rows of every network call (None: the model's own); results may depend on it
    overwrite: bool = False
    resume_command: str = ""
    log_format: str = "ddit"
    verbose: bool = False  # print the whole report at the end, not only a line per task

    def fingerprint(self) -> dict:
        """What defines the run's results; a resume must match it (batch size, workers and world size may change)."""
        o = self.options
        fingerprint = {"model": self.model, "seed": o.seed, "limit": o.limit, "device": self.device,
                       "dtype": self.dtype, "mask_embedding": self.mask_embedding,
                       "tasks": {name: t.config() for name, t in self.tasks.items()}}
        if self.call_rows is not None:  # only when given, so that folders of earlier runs still resume
            fingerprint["call_rows"] = self.call_rows
        return fingerprint


def check_plan(plan: RunPlan) -> None:
    """Everything that can fail without a model fails here, in one line, before any work."""
    for task in plan.tasks.values():
        task.preflight()  # what scoring will need (Java, weights, data), not after hours of generation
    check_model_spec(plan.model, plan.device)
    check_load_options(plan.model, plan.mask_embedding, plan.call_rows)
    check_serves(plan.model, {task.request_kind: name for name, task in plan.tasks.items()})
    if plan.mask_embedding and not Path(plan.mask_embedding).expanduser().is_file():
        raise UsageError(f"--mask-embedding {plan.mask_embedding!r}: no such file")


def execute_run(plan: RunPlan, load_model: Callable) -> int:
    """Run the plan; the exit status (0 ok, 1 a task scored nothing or the run stopped, 130 interrupted)."""
    world = world_from_env()
    threads_before = torch_threads_now()
    set_torch_threads(plan.options.threads, plan.options.loader_workers)
    try:
        model, load_s, lock = _open(plan, load_model, world)
        try:
            return _run_tasks(plan, model, world, load_s)
        finally:
            if lock is not None:
                lock.release()
    finally:
        world.close()
        restore_torch_threads(threads_before)


def _open(plan: RunPlan, load_model: Callable, world: World):
    """Rank 0 takes the folder (lock, fingerprint, readable logs); then every rank loads the model."""
    folder, lock, made = plan.folder, None, False
    existed, lock_existed = folder.path.exists(), folder.lock().path.exists()
    try:
        if world.is_main:
            folder.ensure_writable()
            lock = folder.lock().acquire()  # before anything is read or written: another run may be using it
            made = not existed and folder.is_empty()  # judged under the lock: another run may have begun here since
            folder.start(plan.fingerprint(), plan.overwrite)
            folder.check_sample_logs(plan.tasks)
            print(f"run folder {folder}/; if the run stops, resume it with:\n  {plan.resume_command}", file=sys.stderr,
                  flush=True)
        world.barrier()
        start = time.monotonic()
        model = load_model(plan.model, device=world.device(plan.device), dtype=plan.dtype,
                           mask_embedding=plan.mask_embedding, call_rows=plan.call_rows)
        return model, time.monotonic() - start, lock
    except BaseException:
        if lock is not None:  # only the lock's holder removes anything: without it, the folder may be another run's
            _undo_start(folder, made, lock_existed)
            lock.release()
        raise


def _undo_start(folder: RunFolder, made: bool, lock_existed: bool) -> None:
    """A failed start takes back what it made: a folder it created (an empty one would break `report runs/*`), or
    the lock file it added to a folder that held no run."""
    if made:
        shutil.rmtree(folder.path, ignore_errors=True)
    elif not lock_existed and not folder.holds_ours():
        folder.lock().path.unlink(missing_ok=True)


def _run_tasks(plan: RunPlan, model, world: World, load_s: float) -> int:
    """Every task into the folder; a full disk or Ctrl-C is one line with the command that resumes."""
    start = time.monotonic() - load_s
    folder = plan.folder
    results = RunResults(config={**plan.fingerprint(), "batch_size": plan.options.batch_size,
                                 "model_config": model.config()},
                         versions=versions(), timing={"model_load_s": round(load_s, 3), "cpu": thread_facts()})
    if world.distributed:
        results.config["world_size"] = world.size
    runner = TaskRunner(model, folder.path, plan.options, world)
    earlier = folder.read_results().tasks
    cells: dict[str, TaskOutcome] = {}
    try:
        for name, task in plan.tasks.items():
            if world.is_main:
                print(f"running {name} ...", file=sys.stderr, flush=True)
            task.use_device(world.device(plan.device))  # its scorers' models (detector, CLIP, Inception, probe)
            outcome = _run_task(runner, task, model, earlier)
            if outcome is None:  # another rank's share is done; rank 0 scores
                continue
            finish_task(folder, results, task, outcome)
            if isinstance(task, Cell):
                cells[name] = outcome
            results.timing["total_s"] = round(time.monotonic() - start, 3)
            folder.write_results(results)
        if not world.is_main:
            return 0
        _summarize_ablations(plan.tasks, cells, results, folder)
        reports.write_run_report(folder, results.to_json(), results.plots)
        write_run_html(folder.path)
        if plan.log_format == "lmms-eval":  # for lmms-eval's tools (ddit_eval.interop.lmms_results)
            from .interop.lmms_results import write_lmms_eval_results

            write_lmms_eval_results(folder.path, results.to_json(), None, plan.model)
    except RunAborted as exc:
        if world.is_main:
            folder.write_results(results)
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        if exc.errno not in DISK_FULL:
            raise
        print(f"error: {disk_full(exc)}; what was saved is kept: free space, then resume with: {plan.resume_command}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"interrupted; what was saved is kept: resume with: {plan.resume_command}", file=sys.stderr)
        return 130
    print_summary(folder, results, plan.verbose)
    return unscored_tasks(results)


def print_summary(folder: RunFolder, results: RunResults, verbose: bool) -> None:
    """A line per task (headline, CI, n, failures); the whole report only with --verbose."""
    if verbose:
        print(reports.run_report(results.to_json(), {}).rstrip() + "\n")
    print(terminal_summary(results, folder.report_path))
    print(f"sample browser: {folder.html_report_path}")


def _run_task(runner: TaskRunner, task: Benchmark, model, earlier: dict[str, TaskSummary]) -> Optional[TaskOutcome]:
    """runner.run, or a task's own pipeline (feature-probe); an ablation cell also records its cost: the network
    calls the model counted (None when it does not count), or the earlier process's timing when this one had
    nothing left to compute."""
    if isinstance(task, Pipeline):  # durable steps of its own; not data-parallel
        if not runner.world.is_main:
            return None
        return task.run_pipeline(model, runner.run_dir, runner.options)
    if not isinstance(task, Cell):
        return runner.run(task)
    before = model.network_calls()
    outcome = runner.run(task)
    if outcome is None:
        return None
    timing = outcome.summary.timing
    timing["network_calls"] = None if before is None else model.network_calls() - before
    previous = earlier[task.name].timing if task.name in earlier else {}
    if not timing["computed_samples"] and previous.get("computed_samples"):
        outcome.summary.timing = previous
    return outcome


def finish_task(folder: RunFolder, results: RunResults, task: Benchmark, outcome: TaskOutcome) -> None:
    """A scored task's summary, plots and extra outputs (a test server's submission) into `results`."""
    results.tasks[task.name] = outcome.summary
    plots = task.plots(outcome.records, outcome.evaluation, str(folder.path))
    results.plots[task.name] = folder.relative(plots)
    written = task.write_outputs(outcome.records, outcome.evaluation, str(folder.path))
    if written:
        results.outputs[task.name] = folder.relative(written)


def _summarize_ablations(tasks: dict, cells: dict[str, TaskOutcome], results: RunResults, folder: RunFolder) -> None:
    """After its cells ran, an ablation writes its tables and plots; its summary goes under results["ablations"]."""
    ablations: dict[str, tuple] = {}
    for name in cells:
        ablation = tasks[name].ablation
        ablations.setdefault(ablation.name, (ablation, []))[1].append(name)
    for name, (ablation, names) in ablations.items():
        summary = ablation.summarize([tasks[c] for c in names], {c: results.tasks[c].to_json() for c in names},
                                     {c: cells[c].records for c in names}, str(folder.path))
        summary["files"] = folder.relative(summary.get("files", []))
        summary["plots"] = results.plots[name] = folder.relative(summary.get("plots", []))
        results.ablations[name] = summary
        folder.write_results(results)


def disk_full(exc: OSError) -> str:
    where = f" writing {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or 'no space left on device'}{where}"


def unscored_tasks(results: RunResults) -> int:
    """1, with the reason on the terminal, when some task scored no sample: a broken run must not pass."""
    empty = {name: t for name, t in results.tasks.items() if t.n == 0}
    for name, task in empty.items():
        example = task.error_examples or [{}]
        why = str(example[0].get("error", "no sample selected")).strip().splitlines()[0]
        print(f"error: {name}: no sample scored ({task.errors} failed), e.g. {why}", file=sys.stderr)
    return 1 if empty else 0


# ----------------------------------------------------------------------------- score


def execute_score(task: Task, ordered: list[dict], total: int, source: Path, folder: RunFolder, overwrite: bool,
                  verbose: bool = False) -> int:
    """Score records built from predictions made elsewhere (`ordered`: sample order, image paths relative to
    `source`'s folder or absolute) into `folder`, through the run's own scoring and finishing."""
    folder.ensure_writable()
    with folder.lock():
        check_score_folder(folder, source, overwrite)  # again, now that no other process can write it
        if overwrite:
            folder.clear()
        start = time.monotonic()
        outcome = score_records(task, ordered, source.parent)
        if len(ordered) < total:
            outcome.summary.notes.append(f"scored {len(ordered)} of {total} samples")
        outcome.summary.timing = {"compute_s": 0.0, "computed_samples": 0, "samples_per_s": None, "model_s": 0.0,
                                  "score_s": round(time.monotonic() - start, 3)}
        results = RunResults(config={"predictions": str(source.resolve()), "tasks": {task.name: task.config()}},
                             versions=versions())
        # image paths are written absolute: relative ones would point into the new folder, where no image is
        errors = {r["id"]: r for r in ordered if "error" in r}
        scored = {r["id"]: r for r in outcome.records}
        folder.sample_log(task.name).rewrite(scored.get(r["id"]) or errors[r["id"]] for r in ordered)
        finish_task(folder, results, task, outcome)
        results.timing["total_s"] = outcome.summary.timing["score_s"]
        folder.write_results(results)
        reports.write_run_report(folder, results.to_json(), results.plots)
        write_run_html(folder.path)
    print_summary(folder, results, verbose)
    return unscored_tasks(results)


def check_score_folder(folder: RunFolder, predictions: Path, overwrite: bool) -> None:
    """`score` replaces results.json and samples/ in the folder: never over a run unasked, never over its own input."""
    if folder.holds_run() and not overwrite:
        raise UsageError(f"--output-dir {str(folder)!r} already holds a run; use another folder, or --overwrite to replace it")
    source = predictions.resolve()
    if any(source.is_relative_to((folder.path / name).resolve()) for name in RUN_FILES):
        raise UsageError(f"--output-dir {str(folder)!r} holds the predictions file {str(predictions)!r}, which scoring "
                         "would replace; use another --output-dir")
