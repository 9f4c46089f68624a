"""The overview view's tables: headlines with their CIs, provenance, every metric, notes and errors.

Written as static HTML from results.json (no script needed to read them); numbers as report.md formats
them (`headlines.fmt`), an interval that was not computed reads "n/a".
"""

from __future__ import annotations

from typing import Optional, Sequence

from ..headlines import UNDEFINED, fmt
from ..schema import RunResults, TaskSummary
from .html_text import esc, hash_link


def headline_interval(summary: TaskSummary) -> Optional[list]:
    """The primary metric's 95% bootstrap interval [low, high], or None (an older file, or not computed)."""
    interval = (summary.to_json().get("intervals") or {}).get(summary.primary or "")
    return interval if isinstance(interval, (list, tuple)) and len(interval) == 2 else None


def interval_html(summary: TaskSummary) -> str:
    interval = headline_interval(summary)
    return f"[{fmt(interval[0])}, {fmt(interval[1])}]" if interval else UNDEFINED


def headline_value(summary: TaskSummary) -> str:
    if summary.primary is None:
        return "submission only"
    return fmt(summary.metrics.get(summary.primary)) if summary.n else "no sample scored"


def sample_links(key: str, entry: Optional[dict]) -> str:
    """"browse 12 · wrong 3 · errored 1": links into the task's sample browser, already filtered."""
    if not entry:
        return '<span class="muted">no sample log</span>'
    links = [f'<a href="{hash_link(task=key)}">browse {entry["total"]}</a>']
    links += [f'<a href="{hash_link(task=key, filter=f["name"])}">{esc(f["name"])} {f["count"]}</a>'
              for f in entry.get("filters", []) if f["count"] and not f.get("na")]
    return " · ".join(links)


def headline_table(results: RunResults, datasets: dict, prefix: str = "") -> str:
    rows = []
    for name, s in results.tasks.items():
        rows.append(f"<tr><td>{esc(name)}</td><td>{esc(s.primary or '-')}</td><td class=num>{esc(headline_value(s))}</td>"
                    f"<td class=num>{esc(interval_html(s))}</td><td class=num>{s.n}</td><td class=num>{s.errors}</td>"
                    f"<td>{sample_links(prefix + name, datasets.get(prefix + name))}</td></tr>")
    return ("<table><thead><tr><th>task</th><th>headline</th><th>value</th><th>95% CI</th><th>n</th><th>failed</th>"
            f"<th>samples</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def across_runs_table(runs: Sequence[tuple[str, RunResults, str]], datasets: dict) -> str:
    """One row per task, one column per run: value [CI] n=, linked to that run's samples."""
    tasks = list(dict.fromkeys(t for _, results, _ in runs for t in results.tasks))
    head = "".join(f"<th>{esc(label)}</th>" for label, _, _ in runs)
    rows = []
    for task in tasks:
        cells = []
        for _, results, prefix in runs:
            s = results.tasks.get(task)
            if s is None:
                cells.append('<td class="muted">-</td>')
                continue
            link = f' <a href="{hash_link(task=prefix + task)}">samples</a>' if prefix + task in datasets else ""
            cells.append(f"<td>{esc(s.primary or '')} {esc(headline_value(s))} {esc(interval_html(s))} "
                         f"n={s.n}{f', {s.errors} failed' if s.errors else ''}{link}</td>")
        rows.append(f"<tr><td>{esc(task)}</td>{''.join(cells)}</tr>")
    return f"<table><thead><tr><th>task</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _settings_text(settings: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items()) if settings else "defaults"


def _dataset_text(dataset) -> str:
    if not isinstance(dataset, dict):
        return str(dataset or "")
    text = str(dataset.get("id") or "")
    if dataset.get("revision"):
        text += f" @ {dataset['revision']}"
    rest = {k: v for k, v in dataset.items() if k not in ("id", "revision") and v not in (None, "")}
    return text + (f" ({_settings_text(rest)})" if rest else "")


def provenance(results: RunResults, folder: str) -> str:
    """Model, data revisions, settings and versions: what makes the numbers this run's."""
    cfg = results.config
    facts = {"folder": folder, "model": cfg.get("model") or cfg.get("predictions") or "?", "seed": cfg.get("seed"),
             "limit": cfg.get("limit"), "device": cfg.get("device"), "dtype": cfg.get("dtype"),
             "total time (s)": results.timing.get("total_s")}
    facts.update({f"version {k}": v for k, v in results.versions.items()})
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts.items() if v is not None)
    rows = []
    for task, recorded in (cfg.get("tasks") or {}).items():
        recorded = recorded if isinstance(recorded, dict) else {}
        rows.append(f"<tr><td>{esc(task)}</td><td>{esc(_dataset_text(recorded.get('dataset') or recorded.get('data_source')))}"
                    f"</td><td><code>{esc(_settings_text(recorded.get('settings') or {}))}</code></td></tr>")
    table = ("<table><thead><tr><th>task</th><th>data (revision)</th><th>settings</th></tr></thead>"
             f"<tbody>{''.join(rows)}</tbody></table>") if rows else ""
    return f'<dl class="facts">{items}</dl>{table}'


def task_details(name: str, s: TaskSummary) -> str:
    """Every metric of a task, its notes and its first errors, folded."""
    metrics = "".join(f"<tr><td>{'<b>' + esc(m) + '</b>' if m == s.primary else esc(m)}</td><td class=num>{esc(fmt(v))}"
                      f"</td></tr>" for m, v in s.metrics.items())
    notes = "".join(f"<li>{esc(n)}</li>" for n in s.notes)
    errors = "".join(f"<li><code>{esc(e.get('id'))}</code>: {esc(e.get('error'))}</li>" for e in s.error_examples)
    return (f"<details><summary>{esc(name)}: all metrics, notes, errors</summary>"
            f"<table><tbody>{metrics}</tbody></table>{'<ul>' + notes + '</ul>' if notes else ''}"
            f"{'<p>first errors:</p><ul>' + errors + '</ul>' if errors else ''}</details>")
