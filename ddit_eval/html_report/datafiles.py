"""A list of samples as the page's data files: pages of PAGE_SIZE records, a flags file and a search file.

Why this shape: report.html must open on a 214K-question log, so it holds no sample itself.  The browser
loads page N's file when the reader goes there (a <script> tag: fetch() is refused on file://).  A filter or
a search must see every sample, not the pages loaded so far, so two small whole-list files carry what they
need: flags.js, one hexadecimal digit of status bits a sample (214 KB for VQAv2, loaded on the first
filter), and search.js, a short lowercase text a sample (id, question, prediction, references; loaded on the
first search).  The browser finds the matching positions there and loads only the page files that hold them.
The records are written as they come, so a long log is never held in memory whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .html_text import js_call
from .layout import PAGE_SIZE, page_file

FLAGS_FILE, SEARCH_FILE = "flags.js", "search.js"


class DatasetWriter:
    def __init__(self, data_dir: Path, key: str, page_size: int = PAGE_SIZE) -> None:
        self.dir, self.key, self.page_size = Path(data_dir), key, page_size
        self.dir.mkdir(parents=True, exist_ok=True)
        self.buffer: list[dict] = []
        self.flags: list[int] = []
        self.texts: list[str] = []
        self.pages = 0

    def add(self, shown: dict, flags: int, text: str) -> None:
        """One sample: its display record (its `i` must be its position here), status bits (< 16), search text."""
        self.buffer.append(shown)
        self.flags.append(flags)
        self.texts.append(text)
        if len(self.buffer) == self.page_size:
            self._flush()

    def _flush(self) -> None:
        self.pages += 1
        (self.dir / page_file(self.pages)).write_text(js_call("dditPage", self.key, self.pages, self.buffer),
                                                       encoding="utf-8")
        self.buffer = []

    def finish(self, filters: Sequence[tuple[str, int]]) -> dict:
        """Write the last page and the two index files; the counts per filter and the sizes, for the manifest."""
        if self.buffer:
            self._flush()
        for stale in self.dir.glob("page-*.js"):  # a longer earlier log's pages
            if not stale.stem[5:].isdigit() or int(stale.stem[5:]) > self.pages:
                stale.unlink()
        (self.dir / FLAGS_FILE).write_text(js_call("dditFlags", self.key, "".join(f"{f:x}" for f in self.flags)),
                                           encoding="utf-8")
        (self.dir / SEARCH_FILE).write_text(js_call("dditSearch", self.key, self.texts), encoding="utf-8")
        counts = {name: sum(1 for f in self.flags if f & bit) for name, bit in filters}
        return {"total": len(self.flags), "pages": self.pages, "pageSize": self.page_size, "counts": counts}
