"""report.html: one run's page (`write_run_html`), or several runs side by side (`write_runs_html`).

The overview (headlines with CIs, provenance, every metric) is static HTML; each task with a sample log gets
a sample browser over its data files, each GenEval task a view of its images by tag, each ablation a view of
its plots and tables.  Several runs keep their data apart under `<files>/run<k>/`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..reports import run_names
from ..saved_run import SavedRun
from .ablation_view import ablation_section
from .geneval_view import geneval_section, results_rows
from .html_text import esc, hash_link
from .layout import REPORT_HTML, files_dir
from .overview import across_runs_table, headline_table, provenance, task_details
from .page import view, write_page
from .run_samples import write_task_samples


def _run_views(run: SavedRun, files: Path, prefix: str, label: str, thumbnails: bool) -> tuple[dict, list[tuple]]:
    """(manifest entries of the run's sample browsers, its GenEval and ablation views as (kind, key, heading,
    body)), data files written."""
    datasets, views = {}, []
    for task in run.results.tasks:
        key = prefix + task
        data_dir = files / key
        rel_dir = f"{files.name}/{key}"
        entry = write_task_samples(run, task, data_dir, key, thumbnails)
        if entry:
            datasets[key] = {**entry, "key": key, "title": f"{label}{task}: samples", "kind": "run", "dir": rel_dir}
        rows = results_rows(run, task)
        if rows:
            body = geneval_section(run, task, rows, data_dir, rel_dir, key, thumbnails)
            views.append(("geneval", key, f"{label}{task}: images by tag", body))
    for name, summary in run.results.ablations.items():
        views.append(("ablation", prefix + name, f"{label}{name}: plots and tables",
                      ablation_section(run.path, name, summary)))
    return datasets, views


def _sections(views: Sequence[tuple]) -> list[str]:
    return [view(f"{kind}:{key}", heading, body) for kind, key, heading, body in views]


def _view_links(views: Sequence[tuple]) -> str:
    links = "".join(f'<li><a href="{hash_link(**{kind: key})}">{esc(heading)}</a></li>' for kind, key, heading, _ in views)
    return f"<h3>more views</h3><ul>{links}</ul>" if links else ""


def _subtitle(run: SavedRun) -> str:
    cfg, ver = run.results.config, run.results.versions
    return (f"model {cfg.get('model') or cfg.get('predictions') or '?'}, seed {cfg.get('seed')}, limit {cfg.get('limit')}; "
            f"ddit_eval {ver.get('ddit_eval')}, commit {ver.get('git_commit')}")


def write_run_html(run_dir: str | Path, thumbnails: bool = True) -> Path:
    """`<run>/report.html` and its `<run>/report_files/`; returns the page's path."""
    run = SavedRun(run_dir)
    html = run.path / REPORT_HTML
    datasets, views = _run_views(run, files_dir(html), "", "", thumbnails)
    details = "".join(task_details(name, s) for name, s in run.results.tasks.items())
    overview = (f"<h3>headlines</h3>{headline_table(run.results, datasets)}{_view_links(views)}"
                f"<h3>provenance</h3>{provenance(run.results, str(run.path))}<h3>all metrics</h3>{details}")
    sections = [view("overview", f"run {run.path.name}", overview, back=False), *_sections(views)]
    return write_page(html, f"ddit-eval report: {run.path.name}", _subtitle(run), sections, {"datasets": datasets})


def write_runs_html(run_dirs: Sequence[str | Path], out_path: str | Path, thumbnails: bool = True) -> Path:
    """One page for several runs (`report RUN...`): the headlines across runs, then each run's own tables and
    sample browsers; data files under `<out stem>_files/run<k>/`."""
    html = Path(out_path)
    runs = [SavedRun(d) for d in run_dirs]
    labels = run_names([r.path for r in runs])
    datasets, views, per_run = {}, [], []
    for k, (run, label) in enumerate(zip(runs, labels), 1):
        prefix = f"run{k}/" if len(runs) > 1 else ""
        found, run_views = _run_views(run, files_dir(html), prefix, f"{label}: " if len(runs) > 1 else "", thumbnails)
        datasets.update(found)
        views += run_views
        per_run.append(f"<h3>{esc(label)}</h3>{headline_table(run.results, datasets, prefix)}"
                       f"<details><summary>provenance</summary>{provenance(run.results, str(run.path))}</details>"
                       + "".join(task_details(name, s) for name, s in run.results.tasks.items()))
    table = across_runs_table([(label, run.results, f"run{k}/" if len(runs) > 1 else "")
                               for k, (run, label) in enumerate(zip(runs, labels), 1)], datasets)
    overview = f"<h3>headlines across runs</h3>{table}{_view_links(views)}{''.join(per_run)}"
    sections = [view("overview", f"{len(runs)} runs", overview, back=False), *_sections(views)]
    return write_page(html, f"ddit-eval report: {len(runs)} runs", ", ".join(labels), sections, {"datasets": datasets})
