"""Human-readable outputs: a run's report.md and plots, and tables across runs."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure  # figures without pyplot: the caller's matplotlib backend is left alone

from .errors import UsageError
from .results import effective_limit, is_number, load_results, write_text_atomic

UNDEFINED = "n/a"  # how an undefined metric (None in results.json, e.g. a 0/0 ratio) reads in every table


def _fmt(value) -> str:
    if value is None:
        return UNDEFINED
    return f"{value:.4g}" if is_number(value) else str(value)


def _heading(results: dict) -> list[str]:
    """Title and provenance line: a model run, or predictions scored without a model (`score`)."""
    cfg, ver = results.get("config", {}), results.get("versions", {})
    built = f"ddit_eval {ver.get('ddit_eval')}, commit {ver.get('git_commit')}"
    if "model" not in cfg and "predictions" in cfg:
        return [f"# ddit-eval score: {cfg['predictions']}", "", f"predictions scored without a model, {built}"]
    return [f"# ddit-eval run: {cfg.get('model', '?')}", "",
            f"seed {cfg.get('seed')}, limit {cfg.get('limit')}, device {cfg.get('device')}, dtype {cfg.get('dtype')}, {built}"]


def run_report(results: dict, plots: dict[str, list[str]]) -> str:
    """Markdown for one run: every metric of every task, the headline in bold."""
    lines = [*_heading(results), "", "| task | metric | value | n | errors |", "|---|---|---|---|---|"]
    for name, task in results["tasks"].items():
        for metric, value in task["metrics"].items():
            shown = f"**{_fmt(value)}**" if metric == task["primary"] else _fmt(value)
            lines.append(f"| {name} | {metric} | {shown} | {task['n']} | {task['errors']} |")
        if not task["metrics"]:  # nothing scored: the row still says so, with its error count
            lines.append(f"| {name} | {task['primary']} | no sample scored | {task['n']} | {task['errors']} |")
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


def _task_sections(results: dict) -> list[str]:
    """What each task adds to the report (Task.report_sections); a task not registered now adds nothing."""
    from .registry import TASKS

    lines = []
    for name, summary in results["tasks"].items():
        try:
            cls = TASKS.get(name)
        except UsageError:  # e.g. from an --include-path that this command did not load
            continue
        lines += cls.report_sections(summary, results.get("config", {}))
    return lines


def primary_bar_plot(results: dict, path: Path) -> str | None:
    """One bar per task: its headline metric."""
    items = [(n, t["metrics"].get(t["primary"])) for n, t in results["tasks"].items()]
    items = [(n, v) for n, v in items if is_number(v)]  # an undefined headline gets no bar
    if not items:
        return None
    fig = Figure(figsize=(max(4, 1.3 * len(items)), 3.2))
    ax = fig.subplots()
    ax.bar([n for n, _ in items], [v for _, v in items], color="#4c72b0")
    ax.set_ylabel("headline metric")
    ax.set_title(results.get("config", {}).get("model", ""), fontsize=8)
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path.name


def write_run_report(run_dir: Path, results: dict, task_plots: dict[str, list[str]]) -> None:
    plots = dict(task_plots)
    bar = primary_bar_plot(results, run_dir / "metrics.png")
    if bar:
        plots = {"all tasks": [bar], **plots}
    write_text_atomic(run_dir / "report.md", run_report(results, plots))


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
        if not (Path(run_dir) / "results.json").is_file():
            warnings.append(f"skipping {str(run_dir)!r}: not a run folder (no results.json)")
            continue
        try:
            load_results(run_dir)
        except UsageError as exc:  # names the file and why it does not read
            warnings.append(f"skipping {str(run_dir)!r}: {exc}")
            continue
        kept.append(run_dir)
    return kept, warnings


def _run_names(run_dirs: list[str]) -> list[str]:
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
    for run_dir, name in zip(run_dirs, _run_names(run_dirs)):
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
    for run_dir, name in zip(run_dirs, _run_names(run_dirs)):
        results = load_results(run_dir)
        tasks = list(results["tasks"].values())
        n, errors = sum(t.get("n", 0) for t in tasks), sum(t.get("errors", 0) for t in tasks)
        limit = results.get("config", {}).get("limit")
        empty = sum(t.get("n", 0) == 0 for t in tasks)
        rows[name] = {"n": n, "limit": "" if limit is None else str(limit), "errors": errors,
                      "flag": "; ".join(_flags(effective_limit(results), errors, empty))}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["n", "limit", "errors", "flag"])


def _flags(limit, errors: int, empty: int) -> list[str]:
    """Why a row's numbers are not comparable full-set numbers (`limit`: only one that left samples out)."""
    flags = [f"--limit {limit}: first samples only"] if limit is not None else []
    flags += [f"{errors} sample errors"] if errors else []
    return flags + ([f"{empty} tasks with no sample scored"] if empty else [])


def _shown(table: pd.DataFrame, facts: pd.DataFrame | None, missing: str) -> pd.DataFrame:
    """Metric cells as text: 4 significant digits, "n/a" for undefined, `missing` where a run lacks the metric."""
    def cell(value) -> str:
        return missing if is_number(value) and np.isnan(value) else _fmt(value)

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
