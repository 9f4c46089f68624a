"""`compare BASE CAND --html`: the gate's verdict per metric, then per task the samples whose outcome changed.

The verdict is the CLI's (`compare.compare_runs`, `new_failures`, `mismatches`), drawn as a table; the changed
samples are a sample browser of pairs (baseline beside candidate), filterable to worse, better, errored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from ..bootstrap import POWER
from ..compare import Comparison, Gate, gate
from ..saved_run import SavedRun
from .compare_samples import write_changed_samples
from .html_text import esc, hash_link
from .layout import files_dir
from .page import view, write_page


def verdict(row: Comparison) -> str:
    """FAIL, drop (within margin) or ok, as `compare`'s table says."""
    return "FAIL" if row.failed else ("drop (within margin)" if row.significant_drop else "ok")


def _verdict_class(text: str) -> str:
    return {"FAIL": "verdict-FAIL", "ok": "verdict-ok"}.get(text, "verdict-drop")


def verdict_table(rows: list[Comparison], alpha: float) -> str:
    head = ["task", "metric", "n", "baseline", "candidate", "diff", f"{100 * (1 - alpha):g}% CI", "detectable drop",
            "allowed drop", "better", "verdict"]
    body = []
    for r in rows:
        found = f"{r.min_detectable:.3g}" if np.isfinite(r.min_detectable) else f"n/a ({r.why_no_detectable or 'unknown'})"
        shown = verdict(r)
        cells = [esc(r.task), esc(r.metric), str(r.n), f"{r.baseline:.4g}", f"{r.candidate:.4g}", f"{r.diff:+.4g}",
                 f"[{r.ci_low:+.4g}, {r.ci_high:+.4g}]", esc(found), f"{r.max_drop:g}",
                 "higher" if r.higher_is_better else "lower",
                 f'<span class="verdict {_verdict_class(shown)}">{esc(shown)}</span>']
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (f"<table><thead><tr>{''.join(f'<th>{esc(h)}</th>' for h in head)}</tr></thead><tbody>{''.join(body)}"
            f"</tbody></table><p class=note>detectable drop: the smallest true drop this many samples detect at alpha "
            f"{alpha:g} with {POWER:.0%} power; smaller drops can pass the gate unseen</p>")


def gate_summary(rows: list[Comparison], broken: dict, mismatched: list[str], allow_mismatch: bool) -> str:
    """The gate's outcome in one line, with the reasons, as the CLI's exit status decides it."""
    reasons = [f"{r.task}.{r.metric} dropped {r.drop:.4g} (allowed {r.max_drop:g})" for r in rows if r.failed]
    reasons += [f"{task}: {len(ids)} samples the baseline scored failed in the candidate, e.g. {ids[0]}"
                for task, ids in broken.items()]
    if mismatched and not allow_mismatch:
        reasons.append("the candidate does not match the baseline: " + "; ".join(mismatched))
    if reasons:
        items = "".join(f"<li>{esc(r)}</li>" for r in reasons)
        return f'<p><span class="verdict verdict-FAIL">gate: FAIL</span></p><ul>{items}</ul>'
    shared = f" (gated on what the runs share: {esc('; '.join(mismatched))})" if mismatched else ""
    return f'<p><span class="verdict verdict-ok">gate: pass</span>{shared}</p>'


def _changed_links(datasets: dict) -> str:
    items = []
    for key, entry in datasets.items():
        counts = " · ".join(f'<a href="{hash_link(task=key, filter=f["name"])}">{f["name"]} {f["count"]}</a>'
                            for f in entry["filters"] if f["count"])
        items.append(f'<tr><td>{esc(key)}</td><td><a href="{hash_link(task=key)}">{entry["total"]} changed</a></td>'
                     f'<td>{counts or "-"}</td><td class=note>{esc(entry["notes"][0])}</td></tr>')
    return ("<table><thead><tr><th>task</th><th>samples</th><th>by direction</th><th>outcome</th></tr></thead>"
            f"<tbody>{''.join(items)}</tbody></table>") if items else "<p class=note>no shared task has a sample log</p>"


def write_compare_html(baseline_dir: str | Path, candidate_dir: str | Path, out_path: str | Path, alpha: float = 0.05,
                       max_drops: Optional[dict] = None, allow_mismatch: bool = False, thumbnails: bool = True,
                       runs: Optional[tuple] = None, found: Optional[Gate] = None) -> Path:
    """The compare page at `out_path`, its data in `<out stem>_files/`; `max_drops`: {(task, metric): allowed}.
    `runs` and `found`: the SavedRuns and the Gate that `compare` already computed (else computed here)."""
    baseline, candidate = runs or (SavedRun(baseline_dir), SavedRun(candidate_dir))
    found = found or gate(baseline, candidate, max_drops or {}, alpha)
    rows, notes, broken, mismatched = found.rows, found.notes, found.broken, found.mismatched
    html = Path(out_path)
    files = files_dir(html)
    datasets = {}
    for task in sorted(set(baseline.results.tasks) & set(candidate.results.tasks)):
        entry = write_changed_samples(baseline, candidate, task, files / task, thumbnails)
        if entry is not None:
            datasets[task] = {**entry, "key": task, "title": f"{task}: samples whose outcome changed",
                              "kind": "compare", "dir": f"{files.name}/{task}"}
    note_items = "".join(f"<li>{esc(n)}</li>" for n in notes)
    body = (f"{gate_summary(rows, broken, mismatched, allow_mismatch)}<h3>verdict per metric</h3>"
            f"{verdict_table(rows, alpha)}{'<h3>notes</h3><ul>' + note_items + '</ul>' if note_items else ''}"
            f"<h3>samples whose outcome changed</h3>{_changed_links(datasets)}")
    title = f"compare {baseline.path.name} → {candidate.path.name}"
    subtitle = f"baseline {baseline.path}, candidate {candidate.path}"
    return write_page(html, title, subtitle, [view("overview", "the gate", body, back=False)], {"datasets": datasets})
