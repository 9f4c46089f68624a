"""Human-readable outputs: a run's report.md and plots, and tables across runs."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure  # figures without pyplot: the caller's matplotlib backend is left alone

from .errors import UsageError
from .results import is_number, write_text_atomic
from .run_folder import RunFolder
from .headlines import UNDEFINED, fmt, headline_panels, headline_table
from .metric_tables import task_table
from .schema import RunResults, load_results




def _heading(results: dict) -> list[str]:
    """Title and provenance line: a model run, or predictions scored without a model (`score`)."""
    cfg, ver = results.get("config", {}), results.get("versions", {})
    built = f"ddit_eval {ver.get('ddit_eval')}, commit {ver.get('git_commit')}"
    if "model" not in cfg and "predictions" in cfg:
        return [f"# ddit-eval score: {cfg['predictions']}", "", f"predictions scored without a model, {built}"]
    return [f"# ddit-eval run: {cfg.get('model', '?')}", "",
            f"seed {cfg.get('seed')}, limit {cfg.get('limit')}, device {cfg.get('device')}, dtype {cfg.get('dtype')}, {built}"]


def run_report(results: dict, plots: dict[str, list[str]]) -> str:
    """Markdown for one run: the headline table with CIs, one compact table per task (sub-metrics by split; the
    headline in bold), what each task adds, then notes, sample errors and plots."""
    lines = [*_heading(results), "", *headline_table(RunResults.from_json(results)), "", "## Metrics by task"]
    for name, task in results["tasks"].items():
        cls = _registered(name)
        if task["metrics"]:
            lines += ["", *task_table(name, task["metrics"], task["primary"], cls.metric_splits if cls else ())]
    lines += _task_sections(results)
    notes = [(name, note) for name, task in results["tasks"].items() for note in task.get("notes", [])]
    if notes:
        lines += ["", "## Notes", *[f"- {name}: {note}" for name, note in notes]]
    errors = [(name, e) for name, task in results["tasks"].items() for e in task.get("error_examples", [])]
    if errors:
        lines += ["", "## Sample errors (first few per task)", *[f"- {name} `{e['id']}`: {e['error']}" for name, e in errors]]
    pictures = [(name, p) for name, paths in plots.items() for p in paths]
    if pictures:
        lines += ["", "## Plots", *[f"![{name}]({p})" for name, p in pictures]]
    return "\n".join(lines) + "\n"


def _registered(name: str) -> Optional[type]:
    """The task class of that name, or None (an ablation cell, or a task from an --include-path not loaded now)."""
    from .registry import TASKS

    try:
        return TASKS.get(name)
    except UsageError:
        return None


def _task_sections(results: dict) -> list[str]:
    """What each task adds to the report (Task.report_sections); a task not registered now adds nothing."""
    lines = []
    for name, summary in results["tasks"].items():
        cls = _registered(name)
        if cls is not None:
            lines += cls.report_sections(summary, results.get("config", {}))
    return lines


def write_run_report(folder: RunFolder, results: dict, task_plots: dict[str, list[str]]) -> None:
    plots = dict(task_plots)
    bar = headline_panels(RunResults.from_json(results), folder.summary_plot_path)
    if bar:
        plots = {"all tasks": [bar], **plots}
    write_text_atomic(folder.report_path, run_report(results, plots))


# ----------------------------------------------------------------------------- across runs


MAX_PLOT_WIDTH_IN = 12.0  # 1,200 px at the plots' 100 dpi, however many runs and metrics
PLOT_DPI = 100


def readable_runs(run_dirs: list[str]) -> tuple[list[str], list[str]]:
    """The folders whose results.json reads, and a warning (path and reason) for each one skipped.

    `report runs/*` must not fail on a run that is still going, never got going, or left a corrupt
    results.json: a missing and an unreadable file are skipped alike.
    """
    kept, warnings = [], []
    for run_dir in run_dirs:
        if not RunFolder(run_dir).results_path.is_file():
            warnings.append(f"skipping {str(run_dir)!r}: not a run folder (no results.json)")
            continue
        try:
            load_results(run_dir)
        except UsageError as exc:  # names the file and why it does not read
            warnings.append(f"skipping {str(run_dir)!r}: {exc}")
            continue
        kept.append(run_dir)
    return kept, warnings


def run_names(run_dirs: list[str]) -> list[str]:
    """Row labels: folder names, or the path given when two runs share a name."""
    names: list[str] = []
    for run_dir in run_dirs:
        name = Path(run_dir).resolve().name
        names.append(name if name not in names else str(run_dir))
    return names


def comparison_table(run_dirs: list[str]) -> pd.DataFrame:
    """Rows: runs (folder names); columns: task/metric; primary metrics first.

    An undefined metric is the text "n/a"; a metric the run does not have is missing (NaN).
    """
    rows, columns = {}, []
    for run_dir, name in zip(run_dirs, run_names(run_dirs)):
        results = load_results(run_dir)
        row = {}
        for task, summary in results["tasks"].items():
            ordered = [summary["primary"]] + [m for m in summary["metrics"] if m != summary["primary"]]
            for metric in ordered:
                if metric in summary["metrics"]:
                    key = f"{task}/{metric}"
                    value = summary["metrics"][metric]
                    row[key] = UNDEFINED if value is None else value
                    if key not in columns:
                        columns.append(key)
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


def run_facts(run_dirs: list[str]) -> pd.DataFrame:
    """Per run: scored samples, --limit and sample errors, and a flag when its numbers are not full-set ones."""
    rows = {}
    for run_dir, name in zip(run_dirs, run_names(run_dirs)):
        results = load_results(run_dir)
        tasks = list(results["tasks"].values())
        n, errors = sum(t.get("n", 0) for t in tasks), sum(t.get("errors", 0) for t in tasks)
        limit = results.get("config", {}).get("limit")
        empty = sum(t.get("n", 0) == 0 for t in tasks)
        rows[name] = {"n": n, "limit": "" if limit is None else str(limit), "errors": errors,
                      "flag": "; ".join(_flags(RunResults.from_json(results).effective_limit(), errors, empty))}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["n", "limit", "errors", "flag"])


def _flags(limit, errors: int, empty: int) -> list[str]:
    """Why a row's numbers are not comparable full-set numbers (`limit`: only one that left samples out)."""
    flags = [f"--limit {limit}: first samples only"] if limit is not None else []
    flags += [f"{errors} sample errors"] if errors else []
    return flags + ([f"{empty} tasks with no sample scored"] if empty else [])


def _shown(table: pd.DataFrame, facts: pd.DataFrame | None, missing: str) -> pd.DataFrame:
    """Metric cells as text: 4 significant digits, "n/a" for undefined, `missing` where a run lacks the metric."""
    def cell(value) -> str:
        return missing if is_number(value) and np.isnan(value) else fmt(value)

    shown = table if table.columns.empty else table.astype(object).apply(lambda column: column.map(cell))
    return shown if facts is None else shown.join(facts)


def markdown_table(table: pd.DataFrame, facts: pd.DataFrame | None = None) -> str:
    """The metrics with each run's n, limit, errors and flag beside them (the CSV keeps metrics only)."""
    return _shown(table, facts, "-").rename_axis("run").to_markdown()


def write_comparison(table: pd.DataFrame, stem: Path, facts: pd.DataFrame | None = None) -> list[Path]:
    """Markdown, CSV and LaTeX tables plus one bar plot per task, all named from `stem`."""
    if stem.suffix in (".md", ".csv", ".tex"):  # `--output table.md` means the stem `table`
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = [stem.with_suffix(".md"), stem.with_suffix(".csv"), stem.with_suffix(".tex")]
    written[0].write_text(markdown_table(table, facts) + "\n")
    table.to_csv(written[1], index_label="run")
    written[2].write_text(_shown(table, facts, "--").to_latex())
    for task in dict.fromkeys(c.split("/")[0] for c in table.columns):
        cols = [c for c in table.columns if c.startswith(task + "/")]
        measured = table[cols].apply(pd.to_numeric, errors="coerce").dropna(axis=1, how="all")  # "n/a": no bar
        if measured.columns.empty:
            continue
        fig = task_figure(measured.rename(columns=lambda c: c.split("/", 1)[1]), task)
        path = stem.parent / f"{stem.name}-{task}.png"
        fig.savefig(path, dpi=PLOT_DPI)
        written.append(path)
    return written


def series_colours(n: int) -> list:
    """`n` distinct colours: the qualitative palettes while they last, then evenly spaced hues."""
    if n <= 10:
        return [matplotlib.colormaps["tab10"](i) for i in range(n)]
    if n <= 20:
        return [matplotlib.colormaps["tab20"](i) for i in range(n)]
    return [matplotlib.colormaps["turbo"](x) for x in np.linspace(0.0, 1.0, n)]


def task_figure(frame: pd.DataFrame, title: str):
    """Grouped bars (one group per run, one colour per metric), never wider than MAX_PLOT_WIDTH_IN."""
    cols = len(frame.columns)
    width = min(MAX_PLOT_WIDTH_IN, max(4.0, 0.5 * cols * len(frame) + 2.5))
    ax = Figure(figsize=(width, 3.6)).subplots()
    frame.plot.bar(ax=ax, rot=30 if len(frame) > 3 else 0, color=series_colours(cols), legend=False)
    ax.set_title(title)
    ax.tick_params(axis="x", labelsize=7)
    ax.legend(fontsize=7, ncol=max(1, -(-cols // 12)), loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.figure.tight_layout()
    return ax.figure
