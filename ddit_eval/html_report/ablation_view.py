"""An ablation's section: its plots (inlined, so the page needs nothing beside it), its tables and notes.

results.json's `ablations.<name>` names the files (`files`: the .md and .csv tables) and `plots`, relative
to the run folder; the CSV tables become HTML tables, the Markdown stays as written, folded.
"""

from __future__ import annotations

import base64
import csv
import io
from pathlib import Path

from .html_text import esc


def _number(text: str) -> str:
    """A CSV cell: numbers to 4 significant digits (22.999999999999996 reads 23), text as it is."""
    try:
        return f"{float(text):.4g}"
    except ValueError:
        return text


def csv_table(text: str) -> str:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return ""
    head = "".join(f"<th>{esc(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{esc(_number(c))}</td>" for c in row) + "</tr>" for row in rows[1:])
    return f"<table class=grid><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def inline_png(path: Path) -> str:
    """A PNG as a data: address; "" when unreadable."""
    try:
        return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError:
        return ""


def ablation_section(run_dir: Path, name: str, summary: dict) -> str:
    parts = []
    for plot in summary.get("plots") or []:
        src = inline_png(run_dir / plot)
        parts.append(f'<figure class="plot"><img src="{src}" alt="{esc(plot)}"><figcaption>{esc(plot)}</figcaption></figure>'
                     if src else f"<p class=note>plot {esc(plot)} is missing</p>")
    for file in summary.get("files") or []:
        path = run_dir / file
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            parts.append(f"<p class=note>{esc(file)} is missing</p>")
            continue
        if file.endswith(".csv"):
            parts.append(f"<h3>{esc(file)}</h3>{csv_table(text)}")
        else:
            parts.append(f"<details><summary>{esc(file)}</summary><pre>{esc(text)}</pre></details>")
    notes = "".join(f"<li>{esc(n)}</li>" for n in summary.get("notes") or [])
    if notes:
        parts.append(f"<h3>notes</h3><ul>{notes}</ul>")
    return "".join(parts)
