"""`report --paper`: each of the paper's tables with measured rows below the reported ones.

Per table, STEM-<table>.md / .tex show the paper's layout (reported rows exactly as printed and marked
"reported"; a measured row's cells read "value [95% CI] n=N", or "n/a" for an undefined metric; a
"measured - reported" row for the model that was run, where a column measured over other categories than
the paper's number reads "not comparable": numbers on different scales are never subtracted),
STEM-<table>.csv holds one line per number (value, CI, n, protocol, caveats) so nothing is lost to
formatting, and STEM-<table>.png compares measured with reported per column.  STEM.md has them all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd
from matplotlib.figure import Figure  # no pyplot: the caller's matplotlib backend is left alone

from ..headlines import UNDEFINED
from ..results import write_text_atomic
from .measured import READERS, Measured, MeasuredRow, Run
from .numbers import PaperTable, paper_table, table_keys

REPORTED, MEASURED, DELTA = "reported", "measured", "measured - reported"
NOT_REPRODUCTION = "measured, not a reproduction"
NOT_COMPARABLE = "not comparable"


def _measured_text(table: PaperTable, m: Optional[Measured]) -> str:
    if m is None:
        return "-"
    if m.value is None:
        return f"{UNDEFINED} n={m.n}"
    ci = f" [{table.fmt(m.ci[0])}, {table.fmt(m.ci[1])}]" if m.ci else " [no CI]"
    return f"{table.fmt(m.value)}{ci} n={m.n}"


def _delta_value(table: PaperTable, row: MeasuredRow, column: str) -> Optional[object]:
    """measured - reported, or why there is none: "not comparable" (other categories than the paper's number),
    "n/a" (the measured metric is undefined); None when the column lacks a measured or a reported number."""
    reported, measured = _reported(table, row).get(column), row.values.get(column)
    if reported is None or measured is None:
        return None
    if column in row.not_comparable:
        return NOT_COMPARABLE
    return UNDEFINED if measured.value is None else measured.value - reported


def _delta_text(table: PaperTable, value: Optional[object]) -> str:
    return "-" if value is None else value if isinstance(value, str) else f"{value:+.{table.decimals}f}"


def _line(table: PaperTable, label: str, cells: dict, source: str, note: str = "", keys: Optional[dict] = None) -> dict:
    keys = keys or {k: "" for k in table.key_columns}
    return {**keys, table.label_column: label, **cells, "source": source, "note": note}


def build(table: PaperTable, rows: list[MeasuredRow]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the table as displayed, one line per number)."""
    shown, numbers = [], []
    for row in table.rows:
        label = row[table.label_column]
        shown.append(_line(table, label, {c: table.fmt(v) for c, v in zip(table.columns, row["values"])}, REPORTED,
                           keys={k: row[k] for k in table.key_columns}))
        numbers += [{"row": label, "source": REPORTED, "column": c, "value": v}
                    for c, v in zip(table.columns, row["values"]) if v is not None]
    for row in rows:
        source = NOT_REPRODUCTION if row.caveats else MEASURED
        note = "; ".join([f"protocol {row.protocol}", *row.caveats])
        shown.append(_line(table, row.label, {c: _measured_text(table, row.values.get(c)) for c in table.columns},
                           source, note))
        numbers += [{"row": row.label, "source": source, "column": c, "value": UNDEFINED if m.value is None else m.value,
                     "ci_low": m.ci and m.ci[0], "ci_high": m.ci and m.ci[1], "n": m.n, "protocol": row.protocol,
                     "note": "; ".join(row.caveats)} for c, m in row.values.items()]
        deltas = {c: d for c in table.columns if (d := _delta_value(table, row, c)) is not None}
        if deltas:
            label = f"{row.label.replace(MEASURED, DELTA, 1)} vs {row.reference}"
            shown.append(_line(table, label, {c: _delta_text(table, deltas.get(c)) for c in table.columns},
                               DELTA, "; ".join(row.caveats)))
            numbers += [{"row": label, "source": DELTA, "column": c, "value": d, "protocol": row.protocol,
                         "note": "; ".join(row.caveats)} for c, d in deltas.items() if d != NOT_COMPARABLE]
    columns = ["row", "source", "column", "value", "ci_low", "ci_high", "n", "protocol", "note"]
    return pd.DataFrame(shown), pd.DataFrame(numbers, columns=columns).assign(table=table.key)


def _reported(table: PaperTable, row: MeasuredRow) -> dict[str, float]:
    """The reported numbers of the row this one measures again (none without a reference)."""
    if row.reference is None:
        return {}
    return {c: v for c, v in table.reported(row.reference).items() if v is not None}


def _deltas(table: PaperTable, row: MeasuredRow) -> dict[str, float]:
    """measured - reported, only where both are numbers on the same scale (same categories as the paper's)."""
    values = {c: _delta_value(table, row, c) for c in table.columns}
    return {c: v for c, v in values.items() if v is not None and not isinstance(v, str)}


def figure(table: PaperTable, rows: list[MeasuredRow], path: Path) -> Optional[Path]:
    """One panel per column: the reported value of the model that was run beside each measured one (95% CI)."""
    pairs = [(r, c) for c in table.columns for r in rows if r.reference and c in _deltas(table, r)]
    columns = list(dict.fromkeys(c for _, c in pairs))
    if not columns:
        return None
    width = min(4, len(columns))
    fig = Figure(figsize=(3.2 * width, 2.8 * -(-len(columns) // width)))
    axes = fig.subplots(-(-len(columns) // width), width, squeeze=False)
    for ax, column in zip(axes.flat, columns):
        shown = [r for r, c in pairs if c == column]
        for k, row in enumerate(shown):
            m = row.values[column]
            err = [[m.value - m.ci[0]], [m.ci[1] - m.value]] if m.ci else None
            ax.bar(2 * k, table.reported(row.reference)[column], color="#bbbbbb", label=REPORTED if k == 0 else None)
            ax.bar(2 * k + 1, m.value, yerr=err, capsize=3, color="#4477aa", label=MEASURED if k == 0 else None)
        ax.set_title(column, fontsize=9)
        ax.set_xticks([2 * k + 0.5 for k in range(len(shown))],
                      [r.label.removeprefix(MEASURED).strip(" :") for r in shown], fontsize=6, rotation=15)
    for ax in list(axes.flat)[len(columns):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"{table.title}: measured (95% CI) vs reported", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def write_paper_report(run_dirs: list[str], stem: Path) -> tuple[str, list[Path]]:
    """Write every table for these runs; returns the combined Markdown and the files written."""
    if stem.suffix in (".md", ".csv", ".tex"):
        stem = stem.with_suffix("")
    runs = [Run.load(d) for d in run_dirs]
    sections, written = [], []
    for key in table_keys():
        table = paper_table(key)
        rows = [row for run in runs for row in READERS[key](table, run)]
        shown, numbers = build(table, rows)
        base = stem.parent / f"{stem.name}-{key}"
        markdown = shown.to_markdown(index=False)
        write_text_atomic(base.with_suffix(".md"), f"## {table.title}\n\n{markdown}\n")
        write_text_atomic(base.with_suffix(".csv"), numbers.to_csv(index=False))
        write_text_atomic(base.with_suffix(".tex"), shown.to_latex(index=False, escape=True))
        written += [base.with_suffix(s) for s in (".md", ".csv", ".tex")]
        picture = figure(table, rows, base.with_suffix(".png"))
        written += [picture] if picture else []
        measured = "" if rows else "\n\nNo given run measured this table."
        sections.append(f"## {table.title}\n\n{markdown}{measured}")
    combined = "# The D-DiT paper's tables, reported and measured\n\n" + "\n\n".join(sections) + "\n"
    write_text_atomic(stem.with_suffix(".md"), combined)
    return combined, [stem.with_suffix(".md"), *written]
