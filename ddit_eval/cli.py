"""Command line: run, list-tasks, score, report, compare.

Bad input is one line on stderr and exit status 2 (`--debug` shows the traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from . import compare as compare_mod
from . import reports
from .errors import UsageError
from .models import DEFAULT_MODEL, check_model_spec, load_model
from .overrides import task_overrides
from .provenance import versions
from .registry import GROUPS, TASKS, expand_task_names, include_path
from .results import DISK_FULL, RunLock, SampleLog, read_jsonl, write_json_atomic
from .runner import RunAborted, RunOptions, TaskRunner, absolute_image_paths

DEFAULT_TASKS = "shapes-vqa,shapes-caption,shapes-pope,shapes-mme,shapes-geneval"
# Settings that change how fast a run goes, never what it computes: they may differ on resume.
_NOT_FINGERPRINTED = ("batch_size", "max_errors")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text) if text.lstrip("-").isdigit() else None
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse, but its errors are our one-line errors with exit status 2."""

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ddit_eval", description="Evaluate Dual Diffusion (D-DiT) models on generation and understanding benchmarks. "
                     "With no command, `run` on its defaults (the shapes suite on the embedded tiny model).",
                     epilog="`python -m ddit_eval COMMAND --help` documents each command's options. Bad input exits 2, "
                     "a failed gate, a run stopped by --max-errors or a task with no scored sample exits 1.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    run = sub.add_parser("run", help="run tasks on a model and write predictions, metrics, report and plots")
    run.add_argument("--tasks", default=DEFAULT_TASKS, help=f"comma-separated task names (default: the shapes suite, {DEFAULT_TASKS})")
    run.add_argument("--model", default=DEFAULT_MODEL, help="local checkpoint folder (official diffusers layout), Hugging Face hub id, "
                     "or a test double such as double:pixel (default: the embedded tiny model)")
    run.add_argument("--mask-embedding", metavar="FILE", help="aligned mask-token embedding (.pt/.safetensors/.npy) written "
                     "into the T5 row of <extra_id_0> after loading, when you have the official file")
    run.add_argument("--limit", type=_positive_int, help="score only the first N samples of each task")
    run.add_argument("--batch-size", type=_positive_int, default=8, help="requests per model call; never changes results (default 8)")
    run.add_argument("--seed", type=int, default=0, help="run seed; each sample's seed derives from (seed, task, sample id)")
    run.add_argument("--output-dir", help="run folder (default runs/<UTC time>-<model>); re-running with the same folder resumes")
    run.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="auto: cuda when available, else cpu")
    run.add_argument("--dtype", choices=["auto", "fp32", "bf16", "fp16"], default="auto", help="auto: bf16 on cuda, fp32 on cpu")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a task or generation setting (steps, answer_length, ...); TASK.KEY=VALUE for one task")
    run.add_argument("--max-errors", type=_non_negative_int, help="stop once more samples than this have failed (default: no limit)")
    run.add_argument("--retry-errors", action="store_true", help="on resume, recompute samples that failed before")
    run.add_argument("--overwrite", action="store_true", help="discard what the output folder holds and start over")
    run.add_argument("--include-path", action="append", default=[], metavar="DIR", help="import extra task modules from DIR")
    run.add_argument("--loader-workers", type=_non_negative_int, default=4, help="threads that open, decode and resize "
                     "images ahead of the model (0: in the model's thread); never changes results (default 4)")
    parser.run_parser = run  # the resume command is rebuilt from its options

    lst = sub.add_parser("list-tasks", help="list every registered task")
    lst.add_argument("--include-path", action="append", default=[], metavar="DIR", help="import extra task modules from DIR")

    score = sub.add_parser("score", help="score predictions made elsewhere (JSONL lines with id and prediction)")
    score.add_argument("--task", required=True, help="the registered task whose samples the predictions answer")
    score.add_argument("--predictions", required=True, help="JSONL file in the samples/<task>.jsonl format (id, prediction); "
                       "image predictions are paths relative to it")
    score.add_argument("--output-dir", help="where results.json, report.md and samples/ go (default runs/<UTC time>-score-<task>)")
    score.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a task setting, as for run")
    score.add_argument("--overwrite", action="store_true", help="replace the run that --output-dir already holds")
    score.add_argument("--include-path", action="append", default=[], metavar="DIR", help="import extra task modules from DIR")

    report = sub.add_parser("report", help="one comparison table (Markdown, CSV, LaTeX) and bar plots across runs")
    report.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run folders (each with results.json)")
    report.add_argument("--output", default="comparison", help="file stem for .md/.csv/.tex and -<task>.png (default ./comparison)")

    cmp_ = sub.add_parser("compare", help="the checkpoint gate: exit 1 on a significant drop beyond its margin")
    cmp_.add_argument("baseline", metavar="BASELINE_DIR", help="run folder of the reference checkpoint")
    cmp_.add_argument("candidate", metavar="CANDIDATE_DIR", help="run folder of the checkpoint under test (same tasks and seed)")
    cmp_.add_argument("--max-drop", action="append", default=[], metavar="TASK.METRIC=X",
                      help="allowed drop in the metric's units (default 0: any significant drop fails)")
    cmp_.add_argument("--alpha", type=float, default=0.05, help="1 - confidence level of the bootstrap interval (default 0.05)")
    cmp_.add_argument("--allow-mismatch", action="store_true", help="gate what the runs share even when their tasks, "
                      "sample ids, seed, limit or protocol settings differ (by default that fails the gate)")
    cmp_.add_argument("--include-path", action="append", default=[], metavar="DIR",
                      help="import extra task modules from DIR (their headline metrics become gateable)")
    return parser


# ----------------------------------------------------------------------------- run


def _make_tasks(names: list[str], overrides: list[str]) -> dict:
    classes = {name: TASKS.get(name) for name in names}
    settings = task_overrides(overrides, classes)
    return {name: cls(**settings[name]) for name, cls in classes.items()}


def _default_output_dir(model: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    name = Path(model.split("?")[0].rstrip("/")).name.replace(":", "-") or "model"
    out, k = Path("runs") / f"{stamp}-{name}", 1
    while out.exists():  # two runs started in the same second get their own folders
        k += 1
        out = Path("runs") / f"{stamp}-{name}-{k}"
    return out


def _ensure_writable(out: Path, what: str = "output dir") -> None:
    """Create the folder and prove it is writable before any work, so the failure is one line, not a traceback."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"  # per process: a run in progress may probe at the same time
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"{what} {str(out)!r} is not writable: {exc.strerror or exc}") from None


def _prepare_output_dir(out: Path, fingerprint: dict, overwrite: bool) -> None:
    """Create the folder, prove it is writable, and refuse to mix runs of different settings."""
    _ensure_writable(out)
    # compare as JSON sees it: a tuple setting reads back as a list and must not look like a change
    fingerprint = json.loads(json.dumps(fingerprint, default=str))
    run_file = out / "run.json"
    if overwrite:
        _clear_run(out)
    elif run_file.exists():
        try:
            recorded = json.loads(run_file.read_text())
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read {str(run_file)!r} ({exc}); use --overwrite to start over") from None
        if recorded != fingerprint:
            keys = sorted(k for k in set(recorded) | set(fingerprint) if recorded.get(k) != fingerprint.get(k))
            raise UsageError(f"{str(out)!r} holds a run with other settings ({', '.join(keys)} differ); "
                             "use another --output-dir, or --overwrite to start over")
    write_json_atomic(run_file, fingerprint)


_RUN_FILES = ("samples", "results.json", "report.md", "metrics.png", "run.json")


def _clear_run(out: Path) -> None:
    """Remove what a previous run wrote in `out` (for --overwrite); other files are not ours to delete."""
    for name in _recorded_plots(out):  # task plots of the previous run, so none is left stale
        (out / name).unlink(missing_ok=True)
    for name in _RUN_FILES:
        path = out / name
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)


def _holds_run(out: Path) -> bool:
    return any((out / name).exists() for name in _RUN_FILES)


def _recorded_plots(out: Path) -> list[str]:
    """Plot files a previous run in `out` recorded in its results.json (only paths inside `out`)."""
    try:
        recorded = json.loads((out / "results.json").read_text()).get("plots", {})
        names = [name for paths in recorded.values() for name in paths]
    except (OSError, ValueError, AttributeError, TypeError):
        return []
    root = out.resolve()
    return [n for n in names if isinstance(n, str) and (root / n).resolve().is_relative_to(root)]


def cmd_run(args) -> int:
    for directory in args.include_path:
        include_path(directory)
    names = expand_task_names([n.strip() for n in args.tasks.split(",") if n.strip()])
    if not names:
        raise UsageError("--tasks is empty")
    tasks = _make_tasks(names, args.overrides)
    _preflight(tasks)
    check_model_spec(args.model)
    if args.mask_embedding and not Path(args.mask_embedding).expanduser().is_file():
        raise UsageError(f"--mask-embedding {args.mask_embedding!r}: no such file")
    out = Path(args.output_dir) if args.output_dir else _default_output_dir(args.model)
    fingerprint = {"model": args.model, "seed": args.seed, "limit": args.limit, "device": args.device, "dtype": args.dtype,
                   "mask_embedding": args.mask_embedding, "tasks": {name: task.config() for name, task in tasks.items()}}
    created = not out.exists()
    _ensure_writable(out)
    lock = RunLock(out).acquire()  # before anything is read or written: another run may be using the folder
    try:
        _prepare_output_dir(out, fingerprint, args.overwrite)
        _check_sample_logs(out, tasks)
        resume = _resume_command(args, out)
        print(f"run folder {out}/; if the run stops, resume it with:\n  {resume}", file=sys.stderr, flush=True)
        start = time.monotonic()
        model = load_model(args.model, device=args.device, dtype=args.dtype, mask_embedding=args.mask_embedding)
    except BaseException:
        if created:  # an empty folder left by a failed start would break `report runs/*`
            shutil.rmtree(out, ignore_errors=True)
        lock.release()
        raise
    try:
        return _run_tasks(args, tasks, model, out, fingerprint, time.monotonic() - start, resume)
    finally:
        lock.release()


def _preflight(tasks: dict) -> None:
    """What scoring will need (Java, ...) is checked before the model loads, not after hours of generation."""
    for task in tasks.values():
        task.preflight()


def _check_sample_logs(out: Path, tasks: dict) -> None:
    """A damaged sample log is one line naming file and line now, not a traceback after the model loads."""
    for name in tasks:
        try:
            SampleLog(out / "samples" / f"{name}.jsonl").load()
        except ValueError as exc:
            raise UsageError(f"{exc} (or --overwrite to start over)") from None
        except OSError as exc:
            raise UsageError(f"cannot read {str(out / 'samples' / f'{name}.jsonl')!r}: {exc.strerror or exc}") from None


def _resume_command(args, out: Path) -> str:
    """The exact command that resumes this run: its options as given, with the folder and without --overwrite."""
    words = [sys.executable, "-m", "ddit_eval", "run"]
    for action in build_parser().run_parser._actions:
        if not action.option_strings or action.dest in ("help", "output_dir", "overwrite"):
            continue
        value = getattr(args, action.dest, action.default)
        if value == action.default or value in (None, False, []):
            continue
        option = action.option_strings[-1]
        if value is True:
            words.append(option)
        else:
            words += [w for v in (value if isinstance(value, list) else [value]) for w in (option, str(v))]
    return shlex.join([*words, "--output-dir", str(out)])


def _run_tasks(args, tasks: dict, model, out: Path, fingerprint: dict, load_s: float, resume: str) -> int:
    """Run every task into `out`; a full disk or Ctrl-C is one line with the command that resumes."""
    start = time.monotonic() - load_s
    options = RunOptions(batch_size=args.batch_size, limit=args.limit, seed=args.seed, max_errors=args.max_errors,
                         retry_errors=args.retry_errors, loader_workers=args.loader_workers)
    results = {"tasks": {}, "config": {**fingerprint, "batch_size": args.batch_size, "model_config": model.config()},
               "versions": versions(), "timing": {"model_load_s": round(load_s, 3)}}
    runner = TaskRunner(model, out, options)
    plots: dict[str, list[str]] = {}
    try:
        for name, task in tasks.items():
            print(f"running {name} ...", file=sys.stderr, flush=True)
            results["tasks"][name] = runner.run(task)
            scored, evaluation = _scored_records(out, name, task), _evaluation(results, name)
            plots[name] = [os.path.relpath(p, out) for p in task.plots(scored, evaluation, str(out))]
            results["plots"] = plots
            written = task.write_outputs(scored, evaluation, str(out))  # e.g. a test server's submission file
            if written:
                results.setdefault("outputs", {})[name] = [os.path.relpath(p, out) for p in written]
            results["timing"]["total_s"] = round(time.monotonic() - start, 3)
            write_json_atomic(out / "results.json", results)
        reports.write_run_report(out, results, plots)
    except RunAborted as exc:
        write_json_atomic(out / "results.json", results)
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        if exc.errno not in DISK_FULL:
            raise
        print(f"error: {_disk_full(exc)}; what was saved is kept: free space, then resume with: {resume}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"interrupted; what was saved is kept: resume with: {resume}", file=sys.stderr)
        return 130
    print(reports.run_report(results, {}).rstrip())
    print(f"\nresults in {out}/ (results.json, report.md, samples/)")
    return _unscored_tasks(results)


def _disk_full(exc: OSError) -> str:
    where = f" writing {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or 'no space left on device'}{where}"


def _unscored_tasks(results: dict) -> int:
    """1, with the reason on the terminal, when some task scored no sample: a broken run must not pass."""
    empty = {name: t for name, t in results["tasks"].items() if t["n"] == 0}
    for name, task in empty.items():
        example = task.get("error_examples") or [{}]
        why = str(example[0].get("error", "no sample selected")).strip().splitlines()[0]
        print(f"error: {name}: no sample scored ({task['errors']} failed), e.g. {why}", file=sys.stderr)
    return 1 if empty else 0


def _scored_records(out: Path, name: str, task) -> list[dict]:
    records = [r for r in read_jsonl(out / "samples" / f"{name}.jsonl") if "error" not in r]
    from .api import GENERATE_IMAGES

    return absolute_image_paths(records, out / "samples") if task.request_kind == GENERATE_IMAGES else records


def _evaluation(results: dict, name: str):
    from .api import Evaluation

    summary = results["tasks"][name]
    return Evaluation(metrics=summary["metrics"], per_sample=[], notes=summary["notes"])


# ----------------------------------------------------------------------------- other commands


def cmd_list_tasks(args) -> int:
    for directory in args.include_path:
        include_path(directory)
    for name in TASKS.names():
        cls = TASKS.get(name)
        headline = cls.primary_metric or "none (writes a submission file)"
        print(f"{name:<22} {cls.description}\n{'':<22} data: {cls.data_source}; headline metric: {headline}")
    print("\ngroups: " + "; ".join(f"{g} = {','.join(names)}" for g, names in GROUPS.items()))
    return 0


def cmd_score(args) -> int:
    for directory in args.include_path:
        include_path(directory)
    task = _make_tasks([args.task], args.overrides)[args.task]
    task.preflight()
    path = Path(args.predictions)
    predictions = _read_predictions(path, task)
    out = Path(args.output_dir) if args.output_dir else _default_output_dir(f"score-{task.name}")
    _check_score_output(out, path, args.overwrite)
    samples = {s.id: s for s in task.samples()}
    unknown = [i for i in predictions if i not in samples]
    if unknown:
        raise UsageError(f"{len(unknown)} prediction ids are not samples of {task.name!r}, e.g. {unknown[0]!r}")
    records = [{"id": i, **task.describe_sample(s), "prediction": predictions[i]["prediction"]}
               for i, s in samples.items() if i in predictions and "prediction" in predictions[i]]
    if not records:
        raise UsageError(f"{str(path)!r} has no line with a prediction")
    from .api import GENERATE_IMAGES

    scorable = absolute_image_paths(records, path.parent) if task.request_kind == GENERATE_IMAGES else records
    evaluation = task.evaluate(scorable)
    notes = list(evaluation.notes)
    if len(records) < len(samples):
        notes.append(f"scored {len(records)} of {len(samples)} samples")
    results = {"tasks": {task.name: {"metrics": evaluation.metrics, "primary": task.primary_metric,
                                     "higher_is_better": task.higher_is_better, "n": len(records), "errors": 0, "notes": notes}},
               "config": {"predictions": str(path.resolve()), "tasks": {task.name: task.config()}}, "versions": versions(), "timing": {}}
    _ensure_writable(out)
    with RunLock(out):
        _check_score_output(out, path, args.overwrite)  # again, now that no other process can write it
        if args.overwrite:
            _clear_run(out)
        # image paths are written absolute: relative ones would point into the new folder, where no image is
        SampleLog(out / "samples" / f"{task.name}.jsonl").rewrite({**r, "scores": s} for r, s in zip(scorable, evaluation.per_sample))
        write_json_atomic(out / "results.json", results)
        written = task.write_outputs(records, evaluation, str(out))
        if written:
            results["outputs"] = {task.name: [os.path.relpath(p, out) for p in written]}
            write_json_atomic(out / "results.json", results)
        reports.write_run_report(out, results, {})
    print(reports.run_report(results, {}).rstrip())
    print(f"\nresults in {out}/ (results.json, report.md, samples/)")
    return 0


def _check_score_output(out: Path, predictions: Path, overwrite: bool) -> None:
    """`score` replaces results.json and samples/ in `out`: never over a run unasked, never over its own input."""
    if _holds_run(out) and not overwrite:
        raise UsageError(f"--output-dir {str(out)!r} already holds a run; use another folder, or --overwrite to replace it")
    source = predictions.resolve()
    if any(source.is_relative_to((out / name).resolve()) for name in _RUN_FILES):
        raise UsageError(f"--output-dir {str(out)!r} holds the predictions file {str(predictions)!r}, which scoring "
                         "would replace; use another --output-dir")


def _read_predictions(path: Path, task) -> dict[str, dict]:
    """id -> line of a predictions file; unreadable files, lines without an id and repeated ids are bad input.

    A line without our `id` is matched by the benchmark's own ids (question_id, ...), where the task knows them.
    """
    try:
        lines = read_jsonl(path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read predictions {str(path)!r}: {exc}") from None
    predictions: dict[str, dict] = {}
    for number, line in enumerate(lines, 1):
        key = _prediction_id(line, task)
        if key is None:
            raise UsageError(f"predictions {str(path)!r}: record {number} has no 'id' (nor the benchmark's own ids)")
        if key in predictions:
            raise UsageError(f"predictions {str(path)!r}: id {key!r} appears twice")
        predictions[key] = line
    return predictions


def _prediction_id(line, task) -> str | None:
    if not isinstance(line, dict):
        return None
    if "id" in line:
        return line["id"]
    try:
        return task.sample_id(line) if hasattr(task, "sample_id") else None
    except KeyError:
        return None


def cmd_report(args) -> int:
    run_dirs, warnings = reports.readable_runs(args.run_dirs)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not run_dirs:
        raise UsageError(f"none of the {len(args.run_dirs)} folders given holds a run (results.json)")
    table, facts = reports.comparison_table(run_dirs), reports.run_facts(run_dirs)
    stem = Path(args.output)
    _ensure_writable(stem.parent, "--output folder")
    written = reports.write_comparison(table, stem, facts)
    print(reports.markdown_table(table, facts))
    print("\nwrote " + ", ".join(str(p) for p in written))
    return 0


def cmd_compare(args) -> int:
    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha must be between 0 and 1, got {args.alpha}")
    for directory in args.include_path:
        include_path(directory)
    baseline, candidate = Path(args.baseline), Path(args.candidate)
    rows, notes = compare_mod.compare_runs(baseline, candidate, compare_mod.parse_max_drops(args.max_drop), args.alpha)
    print(compare_mod.format_table(rows, args.alpha))
    for note in notes:
        print(f"note: {note}")
    failed = [r for r in rows if r.failed]
    for r in failed:
        print(f"FAIL {r.task}.{r.metric}: dropped {r.drop:.4g} (allowed {r.max_drop:g}), "
              f"{100 * (1 - args.alpha):g}% CI of the difference [{r.ci_low:+.4g}, {r.ci_high:+.4g}]", file=sys.stderr)
    broken = compare_mod.new_failures(baseline, candidate)
    for task, ids in broken.items():
        print(f"FAIL {task}: {len(ids)} samples the baseline scored failed in the candidate, e.g. {ids[0]!r}", file=sys.stderr)
    mismatched = _mismatched(baseline, candidate, args.allow_mismatch)
    return 1 if failed or broken or mismatched else 0


def _mismatched(baseline: Path, candidate: Path, allowed: bool) -> bool:
    """A candidate that did not run the baseline's experiment fails the gate, in one line, unless allowed."""
    found = compare_mod.mismatches(baseline, candidate)
    if found and allowed:
        print(f"note: gated on what the runs share (--allow-mismatch): {'; '.join(found)}")
    elif found:
        print(f"FAIL candidate does not match the baseline: {'; '.join(found)} (--allow-mismatch gates what they share)",
              file=sys.stderr)
    return bool(found) and not allowed


COMMANDS = {"run": cmd_run, "list-tasks": cmd_list_tasks, "score": cmd_score, "report": cmd_report, "compare": cmd_compare}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            args.command = "run"
            args = build_parser().parse_args([*argv, "run"])
        return COMMANDS[args.command](args)
    except UsageError as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno not in DISK_FULL:
            raise
        if debug:
            traceback.print_exc()
        print(f"error: {_disk_full(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
