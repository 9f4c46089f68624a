"""The GenEval section: per tag, each prompt's images with PASS or FAIL and the reason in words.

It reads the per-image rows the scorer wrote (`geneval_results.jsonl`, `shapes-geneval_results.jsonl`: the
official fields filename, tag, prompt, correct, reason, metadata), so nothing is detected again; the reasons
are worded by `geneval.figures.readable_reason`, as report.md's grids are.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from ..geneval.figures import prompts_by_tag, readable_reason
from ..saved_run import SavedRun
from .html_text import esc, hash_link
from .thumbs import Thumbnails


def results_rows(run: SavedRun, task: str) -> list[dict]:
    """The task's per-image rows, [] when it wrote none (not a GenEval task, or nothing scored)."""
    candidates = [run.path / f"{task}_results.jsonl"]
    candidates += [run.path / p for p in run.results.outputs.get(task, []) if str(p).endswith("results.jsonl")]
    for path in candidates:
        if path.is_file():
            rows = []
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except ValueError:
                    continue  # a torn last line; the rest still shows
                if isinstance(row, dict) and {"filename", "tag", "prompt", "correct"} <= set(row):
                    rows.append(row)
            return rows
    return []


def image_path(run: SavedRun, filename: str, task: str) -> Path:
    """Where an image of a row is now: as written (absolute, or relative to the folder), else the file of that
    name in the task's images folder (a run folder that was moved)."""
    path = Path(filename)
    if not path.is_absolute():
        path = run.path / path
    if path.exists():
        return path
    return run.folder.task_dir(task) / path.name


def reason(row: dict) -> str:
    try:
        return readable_reason(row)
    except (KeyError, TypeError, ValueError):  # a row without metadata still has the official reason
        return str(row.get("reason") or "")


def rows_by_image(run: SavedRun, task: str, rows: list[dict]) -> dict[str, dict]:
    """Resolved image path -> its row, to caption the sample browser's generated images."""
    return {str(image_path(run, r["filename"], task).resolve()): r for r in rows}


def _figure(row: dict, src: Optional[str]) -> str:
    ok = bool(row["correct"])
    verdict = "PASS" if ok else "FAIL"
    why = "" if ok else "".join(f"<br>{esc(line)}" for line in reason(row).splitlines())
    image = f'<img src="{esc(src)}" alt="{esc(row["prompt"])}" loading="lazy">' if src else '<div class="noimg">no image</div>'
    return f'<figure class="gen {"pass" if ok else "fail"}">{image}<figcaption><b>{verdict}</b>{why}</figcaption></figure>'


def geneval_section(run: SavedRun, task: str, rows: list[dict], data_dir: Path, rel_dir: str, key: str,
                    thumbnails: bool = True) -> str:
    """HTML of one GenEval task: a tag list, then per tag its prompts (a row of figures each)."""
    thumbs = Thumbnails(data_dir)
    by_tag = prompts_by_tag(rows)
    nav, blocks = [], []
    for tag, prompts in by_tag.items():
        right = sum(bool(r["correct"]) for images in prompts for r in images)
        total = sum(len(images) for images in prompts)
        nav.append(f'<a href="{hash_link(geneval=key, tag=tag)}">{esc(tag)} ({right}/{total})</a>')
        items = []
        for images in prompts:
            figures = []
            for row in images:
                src = thumbs.of_file(image_path(run, row["filename"], task)) if thumbnails else None
                figures.append(_figure(row, f"{rel_dir}/{src}" if src else None))
            failed = not all(r["correct"] for r in images)
            items.append(f'<div class="prompt{" failed" if failed else ""}"><p>{esc(images[0]["prompt"])}</p>'
                         f'<div class="figs">{"".join(figures)}</div></div>')
        blocks.append(f'<section class="tag" data-tag="{esc(tag)}"><h3>{esc(tag)}: {right} of {total} images '
                      f'correct, {len(prompts)} prompts</h3>{"".join(items)}</section>')
    missing = f"<p class=note>{thumbs.failures} images could not be read ({esc(thumbs.first_failure)})</p>" \
        if thumbs.failures else ""
    return (f'<nav class="tags"><a href="{hash_link(geneval=key)}">all tags</a>{"".join(nav)}'
            f'<label><input type="checkbox" class="only-failed"> only prompts with a failed image</label></nav>{missing}'
            f'{"".join(blocks)}')
