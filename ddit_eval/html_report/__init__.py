"""The offline HTML report: report.html for a run or several, and `compare --html`'s page.

Self-contained: inline CSS and JavaScript, data files and thumbnails in a folder beside the page, nothing
fetched from a network.  Entry points: `write_run_html`, `write_runs_html`, `write_compare_html`.
"""

from .compare_page import write_compare_html
from .layout import REPORT_FILES, REPORT_HTML
from .run_page import write_run_html, write_runs_html

__all__ = ["REPORT_FILES", "REPORT_HTML", "write_compare_html", "write_run_html", "write_runs_html"]
