"""Each task's headline as a person reads it: value, 95% CI and n on one line, and a panel per task.

The end of a run prints these lines and nothing else (the full report is report.md, or the terminal with
--verbose); report.md and metrics.png open with the same facts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from .results import is_number
from .schema import RunResults, TaskSummary

UNDEFINED = "n/a"  # how an undefined metric (None in results.json, e.g. a 0/0 ratio) reads in every table


def fmt(value) -> str:
    if value is None:
        return UNDEFINED
    return f"{value:.4g}" if is_number(value) else str(value)


def interval_text(summary: TaskSummary) -> str:
    """"[60.1, 62.3]", or "n/a" where none was computed (the notes say why)."""
    interval = summary.intervals.get(summary.primary or "")
    return f"[{fmt(interval[0])}, {fmt(interval[1])}]" if interval else UNDEFINED


def headline_line(name: str, summary: TaskSummary) -> str:
    """`vqav2: accuracy 61.2, 95% CI [60.1, 62.3], n=1000; 3 failed; empty answers 2.1%`."""
    if summary.primary is None:
        head = f"{name}: nothing scored here (writes a submission file), n={summary.n}"
    elif summary.n == 0:
        head = f"{name}: no sample scored"
    else:
        value = summary.metrics.get(summary.primary)
        head = f"{name}: {summary.primary} {fmt(value)}, 95% CI {interval_text(summary)}, n={summary.n}"
    extras = []
    if summary.errors:
        extras.append(f"{summary.errors} failed")
    empty = summary.metrics.get("empty_answers")
    if is_number(empty) and empty > 0:
        extras.append(f"empty answers {empty:.3g}%")
    return "; ".join([head, *extras])


def terminal_summary(results: RunResults, report_path: Path) -> str:
    """What the end of a run prints: a line per task (an ablation's cells as one line per swept task), then where
    the rest is."""
    cell_prefixes = tuple(f"{name}." for name in results.ablations)
    lines = [headline_line(name, summary) for name, summary in results.tasks.items() if not name.startswith(cell_prefixes)]
    lines += [line for name, ablation in results.ablations.items() for line in ablation_lines(name, ablation)]
    return "\n".join([*lines, f"full report: {report_path} (all metrics, notes, plots; --verbose prints it here)"])


def ablation_lines(name: str, ablation: dict) -> list[str]:
    """`steps-ablation vqav2: accuracy by steps: 4: 50.1 [48, 52] n=100, 8: ...`: the sweep in one line per task."""
    lines = []
    for task, part in (ablation.get("tasks") or {}).items():
        cells = []
        for cell in part.get("cells", []):
            ci = cell.get("ci")
            shown = f"{fmt(cell.get('value'))} [{fmt(ci[0])}, {fmt(ci[1])}]" if ci else fmt(cell.get("value"))
            cells.append(f"{cell.get('steps')}: {shown}")
        n = part["cells"][0].get("n") if part.get("cells") else 0
        lines.append(f"{name} {task}: {part.get('metric')} by steps (n={n}): " + ", ".join(cells))
    return lines


def headline_table(results: RunResults) -> list[str]:
    """report.md's first table: one row per task."""
    lines = ["| task | headline | value | 95% CI | n | failed |", "|---|---|---|---|---|---|"]
    for name, s in results.tasks.items():
        value = fmt(s.metrics.get(s.primary)) if s.primary and s.n else ("no sample scored" if s.primary else "-")
        lines.append(f"| {name} | {s.primary or 'submission'} | {value} | {interval_text(s)} | {s.n} | {s.errors} |")
    return lines


def headline_panels(results: RunResults, path: Path) -> Optional[str]:
    """metrics.png: one panel per task on its own scale (GenEval's 0.4 beside MME's 491), the CI as an error bar."""
    from matplotlib.figure import Figure

    shown = [(name, s) for name, s in results.tasks.items() if s.primary and is_number(s.metrics.get(s.primary))]
    if not shown:
        return None
    columns = min(4, len(shown))
    rows = -(-len(shown) // columns)
    fig = Figure(figsize=(2.6 * columns, 2.4 * rows))
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, (name, s) in zip(axes, shown):
        value, interval = s.metrics[s.primary], s.intervals.get(s.primary)
        # clipped at 0: the interval is rounded to 6 places, a CIDEr of 1e-17 beside [0, 0] must not fail
        error = [[max(0.0, value - interval[0])], [max(0.0, interval[1] - value)]] if interval else None
        ax.bar([0], [value], yerr=error, capsize=6, color="#4c72b0", width=0.5)
        ax.set_xticks([])
        ax.set_xlim(-0.8, 0.8)
        ax.set_title(f"{name}\n{s.primary} {fmt(value)} (n={s.n})", fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
    for ax in axes[len(shown):]:
        ax.set_visible(False)
    fig.suptitle(f"{results.config.get('model', '')}: headline per task, 95% CI", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path.name
