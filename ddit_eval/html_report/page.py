"""The page shell every report page shares: inline CSS and JavaScript, the views, the data manifest.

Everything the page needs is inside it or in its `_files` folder beside it: no CDN, no font, no framework,
so it opens offline and from a copied folder.  The views are <section class="view" data-view=...>; report.js
shows the one the address's #hash names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..results import write_text_atomic
from .html_text import esc, script_json

_HERE = Path(__file__).parent

SAMPLES_VIEW = """<section class="view" data-view="samples" hidden>
<p><a href="#">&larr; overview</a></p>
<h2 id="samples-title"></h2>
<ul id="samples-notes"></ul>
<form id="samples-controls">
<label>show <select id="samples-filter"></select></label>
<input type="search" id="samples-search" placeholder="search id, question, prediction, references, error">
<button type="submit">search</button> <button type="button" id="samples-clear">clear</button>
</form>
<p id="samples-status"></p>
<div class="pager"></div>
<table class="samples"><thead id="samples-head"></thead><tbody id="samples-rows"></tbody></table>
<div class="pager"></div>
</section>"""


def _asset(name: str) -> str:
    text = (_HERE / name).read_text(encoding="utf-8")
    if name.endswith(".js") and "</script" in text.lower():
        raise ValueError(f"{name} may not contain a closing script tag")
    return text


def view(name: str, heading: str, body: str, back: bool = True) -> str:
    """One view of the page, hidden until the #hash names it (the overview shows when none is named)."""
    link = '<p><a href="#">&larr; overview</a></p>' if back else ""
    hidden = "" if name == "overview" else " hidden"
    return f'<section class="view" data-view="{esc(name)}"{hidden}>{link}<h2>{esc(heading)}</h2>{body}</section>'


def page_html(title: str, subtitle: str, sections: Sequence[str], manifest: dict) -> str:
    """The whole page; `manifest` (the data sets' sizes, folders, filters) is read by report.js."""
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>", f"<style>{_asset('report.css')}</style></head><body>",
        f'<header><h1>{esc(title)}</h1><div class="muted">{esc(subtitle)}</div></header>',
        '<div id="js-errors" hidden></div>', "<main>", *sections, SAMPLES_VIEW, "</main>",
        f'<script type="application/json" id="ddit-manifest">{script_json(manifest)}</script>',
        f"<script>{_asset('report.js')}</script>", "</body></html>", ""])


def write_page(path: Path, title: str, subtitle: str, sections: Sequence[str], manifest: dict) -> Path:
    write_text_atomic(path, page_html(title, subtitle, sections, manifest))
    return path
