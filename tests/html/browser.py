"""Headless Chromium for the report tests: a page's DOM after its scripts ran, its console, a screenshot.

`--virtual-time-budget` lets the page's script loads and timers finish before the DOM is dumped;
`--enable-logging=stderr` prints the console (an uncaught error reads "Uncaught ..."), and the page's own
error handler writes what it caught into <html data-errors>.
"""

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome") if shutil.which(name)),
                None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH (Debian: apt-get install chromium)")
_CONSOLE_ERROR = re.compile(r"CONSOLE.*(Uncaught|Error|error)")


@dataclass
class Dom:
    """What the tests read from a dumped page."""

    root: dict = field(default_factory=dict)  # <html>'s attributes
    views: dict = field(default_factory=dict)  # data-view -> that section's attributes
    rows: list = field(default_factory=list)  # data-id of each tr.sample, in order
    texts: dict = field(default_factory=dict)  # element id -> its text
    console_errors: list = field(default_factory=list)
    html: str = ""

    @property
    def visible_view(self) -> str:
        shown = [name for name, attrs in self.views.items() if "hidden" not in attrs]
        assert len(shown) == 1, shown
        return shown[0]


class _Reader(HTMLParser):
    def __init__(self, dom: Dom) -> None:
        super().__init__()
        self.dom, self.open_ids = dom, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.dom.root = attrs
        if tag == "section" and "data-view" in attrs:
            self.dom.views[attrs["data-view"]] = attrs
        if tag == "tr" and "sample" in (attrs.get("class") or "").split():
            self.dom.rows.append(attrs.get("data-id"))
        if "id" in attrs:
            self.open_ids.append((tag, attrs["id"]))
            self.dom.texts.setdefault(attrs["id"], "")

    def handle_endtag(self, tag):
        if self.open_ids and self.open_ids[-1][0] == tag:
            self.open_ids.pop()

    def handle_data(self, data):
        for _, name in self.open_ids:
            self.dom.texts[name] += data


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    command = [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", f"--user-data-dir={profile}",
               "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)  # the DOM says what went wrong


def load(page: Path, hash_: str = "", profile: Path = Path("/tmp/ddit-chromium-profile"), **flags) -> Dom:
    """The DOM of `page#hash_` after its scripts ran (`flags`: extra switches, e.g. allow_file_access_from_files)."""
    extra = [f"--{k.replace('_', '-')}" for k, v in flags.items() if v]
    done = _chromium([*extra, "--dump-dom", f"{Path(page).resolve().as_uri()}{hash_}"], profile)
    dom = Dom(html=done.stdout)
    _Reader(dom).feed(done.stdout)
    dom.console_errors = [line for line in done.stderr.splitlines() if _CONSOLE_ERROR.search(line)]
    return dom


def screenshot(page: Path, hash_: str, out: Path, profile: Path = Path("/tmp/ddit-chromium-profile"),
               size: str = "1400,1100") -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    _chromium([f"--window-size={size}", f"--screenshot={out}", f"{Path(page).resolve().as_uri()}{hash_}"], profile)
    return out
