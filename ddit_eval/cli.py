"""Command line: run, list-tasks, describe, score, report, compare; it parses arguments and hands them to the modules that work.

Bad input is one line on stderr and exit status 2 (`--debug` shows the traceback).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import traceback
from pathlib import Path

from . import __version__
from . import compare as compare_mod
from . import reports
from .api import Pipeline, Task
from .backends import DEFAULT_MODEL, load_backend_model
from .cells import build_tasks
from .cpu_threads import prefer_passive_waiting
from .describe import describe_task, headline
from .errors import UsageError
from .registry import GROUPS, TASKS, expand_task_names, include_path
from .results import DISK_FULL
from .run import RunPlan, check_plan, check_score_folder, disk_full, execute_run, execute_score
from .run_folder import RunFolder
from .runner import RunOptions
from .saved_run import SavedRun
from .score_input import ScoreInput

DEFAULT_TASKS = "shapes-vqa,shapes-caption,shapes-pope,shapes-mme,shapes-geneval"


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
    parser.add_argument("--version", action="version", version=f"ddit-eval {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    run = sub.add_parser("run", help="run tasks on a model and write predictions, metrics, report and plots")
    run.add_argument("--tasks", default=DEFAULT_TASKS, help=f"comma-separated task names (default: the shapes suite, {DEFAULT_TASKS})")
    run.add_argument("--model", default=DEFAULT_MODEL, help="local checkpoint folder (official diffusers layout), Hugging Face hub id, "
                     "or a test double such as double:pixel (default: the embedded tiny model)")
    run.add_argument("--mask-embedding", metavar="FILE", help="aligned mask-token embedding (.pt/.safetensors/.npy) written "
                     "into the T5 row of <extra_id_0> after loading, when you have the official file")
    run.add_argument("--call-rows", type=_positive_int, help="rows of every transformer and text-encoder call "
                     "(default: the model's, 8): results are bit-identical across batch and world sizes for one value; "
                     "larger is faster on a GPU, smaller wastes less on tiny batches (README, Exactness)")
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
    run.add_argument("--verbose", action="store_true", help="print the whole report at the end, not a line per task")
    run.add_argument("--include-path", action="append", default=[], metavar="DIR", help="import extra task modules from DIR")
    run.add_argument("--loader-workers", type=_non_negative_int, default=4, help="threads that open, decode and resize "
                     "images ahead of the model (0: in the model's thread); never changes results (default 4)")
    run.add_argument("--threads", type=_positive_int, default=None, help="torch CPU threads (default: OMP_NUM_THREADS, "
                     "else the cores this process may use, shared among the ranks on the node, one left to the loader threads)")
    run.add_argument("--log-format", choices=["ddit", "lmms-eval"], default="ddit", help="lmms-eval: also write the run in "
                     "lmms-eval 0.7.3's layout under OUTPUT_DIR/lmms-eval/ (<model>/<time>_results.json, _samples_<task>.jsonl)")
    parser.run_parser = run  # the resume command is rebuilt from its options

    lst = sub.add_parser("list-tasks", help="list every registered task")
    lst.add_argument("--include-path", action="append", default=[], metavar="DIR", help="import extra task modules from DIR")

    desc = sub.add_parser("describe", help="show a task and every setting it takes (type, default, constraint, doc)")
    desc.add_argument("task", help="a registered task name")
    desc.add_argument("--include-path", action="append", default=[], metavar="DIR", help="import extra task modules from DIR")

    score = sub.add_parser("score", help="score predictions made elsewhere (JSONL lines with id and prediction, or an images folder)")
    score.add_argument("--task", required=True, help="the registered task whose samples the predictions answer")
    given = score.add_mutually_exclusive_group(required=True)
    given.add_argument("--predictions", help="JSONL file in the samples/<task>.jsonl format (id, prediction); "
                       "image predictions are paths relative to it")
    given.add_argument("--images-dir", metavar="DIR", help="images any model made, in the task's official folder layout "
                       "(geneval: <index>/metadata.jsonl and <index>/samples/NNNN.png)")
    score.add_argument("--output-dir", help="where results.json, report.md and samples/ go (default runs/<UTC time>-score-<task>)")
    score.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a task setting, as for run")
    score.add_argument("--overwrite", action="store_true", help="replace the run that --output-dir already holds")
    score.add_argument("--verbose", action="store_true", help="print the whole report at the end, not a line per task")
    score.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="where the scorers' models run "
                       "(detector, CLIP, Inception); auto: cuda when available, else cpu")
    score.add_argument("--include-path", action="append", default=[], metavar="DIR", help="import extra task modules from DIR")

    report = sub.add_parser("report", help="one comparison table (Markdown, CSV, LaTeX) and bar plots across runs")
    report.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run folders (each with results.json)")
    report.add_argument("--output", help="file stem for .md/.csv/.tex/.html and -<task>.png (default ./comparison; with "
                        "--paper ./paper)")
    report.add_argument("--paper", action="store_true", help="the paper's tables (GenEval, understanding, both ablations) with "
                        "the runs' measured rows, 95%% CIs and measured minus reported, as STEM-<table>.md/.csv/.tex/.png")

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
    cmp_.add_argument("--html", metavar="FILE.html", help="also write the verdict per metric and the samples whose "
                      "outcome flipped, side by side, as an offline HTML page")
    return parser


# ----------------------------------------------------------------------------- run


def cmd_run(args) -> int:
    for directory in args.include_path:
        include_path(directory)
    names = expand_task_names([n.strip() for n in args.tasks.split(",") if n.strip()])
    if not names:
        raise UsageError("--tasks is empty")
    tasks = build_tasks(names, args.overrides, cells=True)
    folder = RunFolder(args.output_dir) if args.output_dir else RunFolder.new(args.model)
    options = RunOptions(batch_size=args.batch_size, limit=args.limit, seed=args.seed, max_errors=args.max_errors,
                         retry_errors=args.retry_errors, loader_workers=args.loader_workers,
                         threads=args.threads)
    plan = RunPlan(tasks=tasks, model=args.model, folder=folder, options=options,
                   device=args.device, dtype=args.dtype, mask_embedding=args.mask_embedding, call_rows=args.call_rows,
                   overwrite=args.overwrite,
                   resume_command=_resume_command(args, folder.path), log_format=args.log_format, verbose=args.verbose)
    check_plan(plan)
    return execute_run(plan, load_backend_model)


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


# ----------------------------------------------------------------------------- other commands


def cmd_list_tasks(args) -> int:
    for directory in args.include_path:
        include_path(directory)
    for name in TASKS.names():
        cls = TASKS.get(name)
        print(f"{name:<22} {cls.description}\n{'':<22} data: {cls.data_source}; headline metric: {headline(cls)}")
    print("\ngroups: " + "; ".join(f"{g} = {','.join(names)}" for g, names in GROUPS.items()))
    return 0


def cmd_describe(args) -> int:
    for directory in args.include_path:
        include_path(directory)
    print(describe_task(TASKS.get(args.task)))
    return 0


def cmd_score(args) -> int:
    for directory in args.include_path:
        include_path(directory)
    task = build_tasks([args.task], args.overrides)[args.task]
    if not isinstance(task, Task):  # a pipeline or a sweep has no predictions file of its own to score
        kind = "pipeline" if isinstance(task, Pipeline) else "sweep"
        raise UsageError(f"task {task.name!r} is a {kind}, not a task of samples: `score` scores one task's predictions")
    task.use_device(args.device)  # for the models its scorers load (detector, CLIP, Inception)
    given = ScoreInput.open(task, args.predictions, args.images_dir)
    folder = RunFolder(args.output_dir) if args.output_dir else RunFolder.new(f"score-{task.name}")
    check_score_folder(folder, given.path, args.overwrite)
    records, total = given.records(task)
    return execute_score(task, records, total, given.path, folder, args.overwrite, args.verbose)


def cmd_report(args) -> int:
    run_dirs, warnings = reports.readable_runs(args.run_dirs)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not run_dirs:
        raise UsageError(f"none of the {len(args.run_dirs)} folders given holds a run (results.json)")
    stem = Path(args.output or ("paper" if args.paper else "comparison"))
    RunFolder(stem.parent).ensure_writable("--output folder")
    if args.paper:  # the paper's tables with measured rows (ddit_eval.paper)
        from .paper.report import write_paper_report

        text, written = write_paper_report(run_dirs, stem)
        print(text.rstrip())
        print("\nwrote " + ", ".join(str(p) for p in written))
        return 0
    from .html_report import write_runs_html

    table, facts = reports.comparison_table(run_dirs), reports.run_facts(run_dirs)
    written = [*reports.write_comparison(table, stem, facts), write_runs_html(run_dirs, stem.with_suffix(".html"))]
    print(reports.markdown_table(table, facts))
    print("\nwrote " + ", ".join(str(p) for p in written))
    return 0


def cmd_compare(args) -> int:
    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha must be between 0 and 1, got {args.alpha}")
    for directory in args.include_path:
        include_path(directory)
    baseline, candidate = SavedRun(args.baseline), SavedRun(args.candidate)  # each log is read once, for all three checks
    max_drops = compare_mod.parse_max_drops(args.max_drop)
    found = compare_mod.gate(baseline, candidate, max_drops, args.alpha)
    rows = found.rows
    print(compare_mod.format_table(rows, args.alpha))
    for note in found.notes:
        print(f"note: {note}")
    failed = [r for r in rows if r.failed]
    for r in failed:
        print(f"FAIL {r.task}.{r.metric}: dropped {r.drop:.4g} (allowed {r.max_drop:g}), "
              f"{100 * (1 - args.alpha):g}% CI of the difference [{r.ci_low:+.4g}, {r.ci_high:+.4g}]", file=sys.stderr)
    broken = found.broken
    for task, ids in broken.items():
        print(f"FAIL {task}: {len(ids)} samples the baseline scored failed in the candidate, e.g. {ids[0]!r}", file=sys.stderr)
    mismatched = _mismatched(found.mismatched, args.allow_mismatch)
    if args.html:
        from .html_report import write_compare_html

        page = write_compare_html(args.baseline, args.candidate, args.html, args.alpha, max_drops, args.allow_mismatch,
                                  runs=(baseline, candidate), found=found)
        print(f"wrote {page}")
    return 1 if failed or broken or mismatched else 0


def _mismatched(found: list[str], allowed: bool) -> bool:
    """A candidate that did not run the baseline's experiment fails the gate, in one line, unless allowed."""
    if found and allowed:
        print(f"note: gated on what the runs share (--allow-mismatch): {'; '.join(found)}")
    elif found:
        print(f"FAIL candidate does not match the baseline: {'; '.join(found)} (--allow-mismatch gates what they share)",
              file=sys.stderr)
    return bool(found) and not allowed


COMMANDS = {"run": cmd_run, "list-tasks": cmd_list_tasks, "describe": cmd_describe, "score": cmd_score, "report": cmd_report, "compare": cmd_compare}


def _check_command_first(argv: list[str]) -> None:
    """`ddit_eval --limit 2` names a run option before any command: say so, not "invalid choice: '2'"."""
    given = [a for a in argv if a != "--debug"]
    if given and given[0].startswith("-") and given[0] not in ("-h", "--help", "--version"):
        raise UsageError(f"{given[0]} is an option of a command, and no command is given: put the command first, "
                         f"e.g. `python -m ddit_eval run {' '.join(given)}`")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    prefer_passive_waiting()  # before anything imports torch (cpu_threads.py says why)
    debug = "--debug" in argv
    try:
        _check_command_first(argv)
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
        print(f"error: {disk_full(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
