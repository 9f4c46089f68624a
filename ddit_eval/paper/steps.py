"""The summary of a steps ablation (the paper's Study 2): quality and cost by text-diffusion steps.

Per task: the headline metric at each step count with its 95% CI beside the paper's value where the task
is the paper's, seconds and network calls per sample, and the paired difference to the previous step
count (same samples, same seeds).  Written as STEM.md, STEM.csv (metric by steps, measured and paper rows),
STEM-cells.csv (one line per cell) and STEM-<task>.png (quality vs steps and vs seconds per sample).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional, Sequence

import pandas as pd

from ..headlines import UNDEFINED
from ..results import write_text_atomic
from .intervals import paired_difference
from .numbers import paper_table, steps_reported

COUNTED = ("network calls per sample: transformer evaluations counted by the model; the sampler re-evaluates only "
           "rows whose tokens changed, so a sample needs at most T+1")
NOT_COUNTED = ("network calls per sample: this model does not count them; the masked-diffusion sampler needs at most "
               "T+1 per sample (network_calls_bound)")
TIME = ("seconds per sample: the cell's wall time over the samples computed in that process (loading, batching "
        "and model, at the run's --batch-size)")


def _per_sample(total, computed) -> Optional[float]:
    return None if total is None or not computed else round(total / computed, 6)


def cell_entry(cell, summary: dict, records: Sequence[dict], paper: Optional[dict], previous) -> dict:
    """One (task, steps) cell: value, CI, n, paper value, cost, and the paired step from `previous` (cell, records)."""
    metric = cell.primary_metric
    timing = summary.get("timing") or {}
    computed = timing.get("computed_samples")
    ci = (summary.get("intervals") or {}).get(metric)  # the cell's own headline interval (scoring.headline_interval)
    step = paired_difference((previous[0].inner, previous[1]), (cell.inner, records), metric) if previous else None
    return {"cell": cell.name, "steps": cell.steps, "value": summary.get("metrics", {}).get(metric), "ci": ci,
            "n": summary.get("n", 0), "errors": summary.get("errors", 0),
            "paper": None if paper is None else paper.get(cell.steps),
            "seconds_per_sample": _per_sample(timing.get("compute_s"), computed),
            "network_calls_per_sample": _per_sample(timing.get("network_calls"), computed),
            "network_calls_bound": cell.steps + 1,
            "vs_previous": step and {"from_steps": previous[0].steps, **step}}


def summarize_steps(name: str, cells: Sequence, summaries: Mapping[str, dict], records: Mapping[str, list],
                    out_dir: Path) -> dict:
    """The ablation's summary for results.json (per task, its cells in step order); writes its tables and plots."""
    reported = steps_reported()
    tasks: dict[str, dict] = {}
    last: dict[str, tuple] = {}  # task -> (its previous cell, that cell's records)
    for cell in cells:
        task = cell.inner.name
        part = tasks.setdefault(task, {"metric": cell.primary_metric, "paper_row": None, "cells": []})
        row, metric, values = reported.get(task, (None, None, None))
        paper = values if metric == part["metric"] else None
        part["paper_row"] = row if paper else None
        part["cells"].append(cell_entry(cell, summaries[cell.name], records[cell.name], paper, last.get(task)))
        last[task] = (cell, records[cell.name])
    counted = all(c["network_calls_per_sample"] is not None for p in tasks.values() for c in p["cells"])
    notes = [COUNTED if counted else NOT_COUNTED, TIME]
    files = write_tables(name, tasks, notes, out_dir)
    plots = [plot_task(name, task, part, out_dir) for task, part in tasks.items()]
    return {"tasks": tasks, "notes": notes, "files": [str(p) for p in files], "plots": [str(p) for p in plots]}


# ----------------------------------------------------------------------------- tables


def _fmt(value, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}g}"


def _value(value) -> str:
    """A measured cell: "n/a" when the metric is undefined (None), never a number that was not measured."""
    return UNDEFINED if value is None else _fmt(value)


def by_steps(tasks: dict, text: bool = False) -> pd.DataFrame:
    """Rows: each task's measured metric and, where the task is the paper's, the paper's row; columns: T.
    `text`: cells as shown (the paper's values with the paper's decimals)."""
    paper_fmt = paper_table("steps-ablation").fmt
    rows = {}
    for task, part in tasks.items():
        rows[f"{task} {part['metric']} (measured)"] = {f"T={c['steps']}": _value(c["value"]) if text else c["value"]
                                                       for c in part["cells"]}
        if part["paper_row"]:
            rows[f"{part['paper_row']} (paper, reported)"] = {f"T={c['steps']}": paper_fmt(c["paper"]) if text else c["paper"]
                                                              for c in part["cells"]}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("row")


def per_cell(tasks: dict) -> pd.DataFrame:
    lines = []
    for task, part in tasks.items():
        for c in part["cells"]:
            step = c["vs_previous"] or {}
            lines.append({"task": task, "metric": part["metric"], "steps": c["steps"], "value": c["value"],
                          "ci_low": c["ci"] and c["ci"][0], "ci_high": c["ci"] and c["ci"][1], "n": c["n"],
                          "errors": c["errors"], "paper": c["paper"], "seconds_per_sample": c["seconds_per_sample"],
                          "network_calls_per_sample": c["network_calls_per_sample"],
                          "network_calls_bound": c["network_calls_bound"], "diff_vs_previous": step.get("diff"),
                          "diff_ci_low": (step.get("ci") or [None])[0], "diff_ci_high": (step.get("ci") or [None, None])[1]})
    return pd.DataFrame(lines)


def _markdown_cells(frame: pd.DataFrame) -> str:
    shown = pd.DataFrame({
        "task": frame["task"], "T": frame["steps"], "value [95% CI]": [
            f"{_fmt(v)} [{_fmt(lo)}, {_fmt(hi)}]" if lo is not None else _value(v)
            for v, lo, hi in zip(frame["value"], frame["ci_low"], frame["ci_high"])],
        "paper": frame["paper"].map(_fmt), "n": frame["n"], "s/sample": frame["seconds_per_sample"].map(_fmt),
        "network calls/sample": frame["network_calls_per_sample"].map(_fmt), "bound T+1": frame["network_calls_bound"],
        "vs previous T [95% CI]": [f"{d:+.4g} [{lo:+.4g}, {hi:+.4g}]" if d is not None and lo is not None else ""
                                   for d, lo, hi in zip(frame["diff_vs_previous"], frame["diff_ci_low"], frame["diff_ci_high"])]})
    return shown.to_markdown(index=False)


def write_tables(name: str, tasks: dict, notes: list[str], out_dir: Path) -> list[Path]:
    wide, cells = by_steps(tasks), per_cell(tasks).astype(object).where(lambda f: f.notna(), None)
    paths = [out_dir / f"{name}.md", out_dir / f"{name}.csv", out_dir / f"{name}-cells.csv"]
    text = [f"# {name}: quality and cost by text-diffusion steps", "", "## Headline metric by steps", "",
            by_steps(tasks, text=True).to_markdown(), "", "## Per cell", "", _markdown_cells(cells), "", "## Notes", "",
            *[f"- {n}" for n in notes]]
    write_text_atomic(paths[0], "\n".join(text) + "\n")
    write_text_atomic(paths[1], wide.to_csv())
    write_text_atomic(paths[2], cells.to_csv(index=False))
    return paths


# ----------------------------------------------------------------------------- plots


def plot_task(name: str, task: str, part: dict, out_dir: Path) -> Path:
    """Quality vs steps and quality vs seconds per sample, measured (95% CI) and the paper's points."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    cells = [c for c in part["cells"] if c["value"] is not None]
    fig = Figure(figsize=(8, 3.2))
    by_t, by_s = fig.subplots(1, 2)
    for ax, x_of in ((by_t, lambda c: c["steps"]), (by_s, lambda c: c["seconds_per_sample"])):
        shown = [c for c in cells if x_of(c) is not None]
        xs, ys = [x_of(c) for c in shown], [c["value"] for c in shown]
        err = [[c["value"] - (c["ci"] or [c["value"]] * 2)[0] for c in shown],
               [(c["ci"] or [c["value"]] * 2)[1] - c["value"] for c in shown]]
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label="measured (95% CI)")
        paper = [(x_of(c), c["paper"]) for c in shown if c["paper"] is not None]
        if paper:
            ax.plot(*zip(*paper), "s--", color="#cc6677", label="paper" if ax is by_t else "paper (at our time for its T)")
        ax.set_xscale("log", base=2 if ax is by_t else 10)
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_ylabel(part["metric"])
        ax.legend(fontsize=7)
    by_t.set_xticks([c["steps"] for c in cells], [str(c["steps"]) for c in cells])
    for c in cells:  # which T each point of the time panel is
        if c["seconds_per_sample"] is not None:
            by_s.annotate(f"T={c['steps']}", (c["seconds_per_sample"], c["value"]), fontsize=6,
                          textcoords="offset points", xytext=(3, 3))
    by_t.set_xlabel("text-diffusion steps T")
    by_s.set_xlabel("seconds per sample")
    fig.suptitle(f"{name}: {task}", fontsize=9)
    fig.tight_layout()
    path = out_dir / f"{name}-{task}.png"
    fig.savefig(path, dpi=100)
    return path
