"""Where the HTML report's files go, named once: the page, the folder of data files beside it, the page size.

    <run>/report.html                          the run's page (overview, sample browsers, GenEval, ablations)
    <run>/report_files/<task>/page-NNNN.js     PAGE_SIZE samples each, loaded when the reader pages there
    <run>/report_files/<task>/flags.js         one status character per sample (the filters)
    <run>/report_files/<task>/search.js        one short lowercase text per sample (the search)
    <run>/report_files/<task>/thumbs/*.jpg     thumbnails of the input or generated images

A page written elsewhere (`report RUN...`, `compare --html`) keeps its files in `<stem>_files/` beside it.
"""

from __future__ import annotations

from pathlib import Path

from ..run_folder import REPORT_FILES, REPORT_HTML  # noqa: F401 - named once, by the run folder
PAGE_SIZE = 200  # samples per data file: a 214K-question log is 1,072 files of ~100 KB, each loaded on demand
THUMB_PX = 160  # long side of a thumbnail; enough to see what the question is about
SEARCH_CHARS = 240  # per sample in search.js: id, question, prediction, references, cut here


def files_dir(html_path: str | Path) -> Path:
    """The data folder of a page: report.html -> report_files/, compare.html -> compare_files/."""
    html_path = Path(html_path)
    return html_path.parent / f"{html_path.stem}_files"


def page_file(number: int) -> str:
    """page-0001.js for the first PAGE_SIZE samples."""
    return f"page-{number:04d}.js"
