"""Human-readable outputs: a run's report.md and plots, and tables across runs."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from .results import load_results, write_text_atomic  # noqa: E402


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) else str(value)


def run_report(results: dict, plots: dict[str, list[str]]) -> str:
    """Markdown for one run: every metric of every task, the headline in bold."""
    cfg = results.get("config", {})
    lines = [f"# ddit-eval run: {cfg.get('model', '?')}", "",
             f"seed {cfg.get('seed')}, limit {cfg.get('limit')}, device {cfg.get('device')}, dtype {cfg.get('dtype')}, "
             f"ddit_eval {results.get('versions', {}).get('ddit_eval')}, commit {results.get('versions', {}).get('git_commit')}", "",
             "| task | metric | value | n | errors |", "|---|---|---|---|---|"]
    for name, task in results["tasks"].items():
        for metric, value in task["metrics"].items():
            shown = f"**{_fmt(value)}**" if metric == task["primary"] else _fmt(value)
            lines.append(f"| {name} | {metric} | {shown} | {task['n']} | {task['errors']} |")
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


def primary_bar_plot(results: dict, path: Path) -> str | None:
    """One bar per task: its headline metric."""
    items = [(n, t["metrics"].get(t["primary"])) for n, t in results["tasks"].items()]
    items = [(n, v) for n, v in items if isinstance(v, (int, float))]
    if not items:
        return None
    fig, ax = plt.subplots(figsize=(max(4, 1.3 * len(items)), 3.2))
    ax.bar([n for n, _ in items], [v for _, v in items], color="#4c72b0")
    ax.set_ylabel("headline metric")
    ax.set_title(results.get("config", {}).get("model", ""), fontsize=8)
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path.name


def write_run_report(run_dir: Path, results: dict, task_plots: dict[str, list[str]]) -> None:
    plots = dict(task_plots)
    bar = primary_bar_plot(results, run_dir / "metrics.png")
    if bar:
        plots = {"all tasks": [bar], **plots}
    write_text_atomic(run_dir / "report.md", run_report(results, plots))


# ----------------------------------------------------------------------------- across runs


def comparison_table(run_dirs: list[str]) -> pd.DataFrame:
    """Rows: runs (folder names); columns: task/metric; primary metrics first."""
    rows, columns = {}, []
    for run_dir in run_dirs:
        results = load_results(run_dir)
        row = {}
        for task, summary in results["tasks"].items():
            ordered = [summary["primary"]] + [m for m in summary["metrics"] if m != summary["primary"]]
            for metric in ordered:
                if metric in summary["metrics"]:
                    key = f"{task}/{metric}"
                    row[key] = summary["metrics"][metric]
                    if key not in columns:
                        columns.append(key)
        name = Path(run_dir).resolve().name
        rows[name if name not in rows else str(run_dir)] = row
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


def write_comparison(table: pd.DataFrame, stem: Path) -> list[Path]:
    """Markdown, CSV and LaTeX tables plus one bar plot per task, all named from `stem`."""
    if stem.suffix in (".md", ".csv", ".tex"):  # `--output table.md` means the stem `table`
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = [stem.with_suffix(".md"), stem.with_suffix(".csv"), stem.with_suffix(".tex")]
    written[0].write_text(table.to_markdown(floatfmt=".4g") + "\n")
    table.to_csv(written[1], index_label="run")
    written[2].write_text(table.to_latex(float_format="%.4g", na_rep="--"))
    for task in dict.fromkeys(c.split("/")[0] for c in table.columns):
        cols = [c for c in table.columns if c.startswith(task + "/")]
        ax = table[cols].rename(columns=lambda c: c.split("/", 1)[1]).plot.bar(figsize=(max(4, 1.2 * len(cols) * len(table)), 3.2), rot=0)
        ax.set_title(task)
        ax.legend(fontsize=7)
        path = stem.parent / f"{stem.name}-{task}.png"
        ax.figure.tight_layout()
        ax.figure.savefig(path, dpi=100)
        plt.close(ax.figure)
        written.append(path)
    return written
