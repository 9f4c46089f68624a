"""One object owns a run folder: every path in it, the settings fingerprint and resume check, what
`--overwrite` removes, and the atomic results writer.  Nothing else in ddit-eval spells these paths.

    <run>/run.json                 the settings fingerprint (a resume must match it)
    <run>/samples/<task>.jsonl     one record per sample, appended batch by batch
    <run>/samples/<task>.rank<k>.jsonl   rank k's records in a data-parallel run, until rank 0 folds them
    <run>/samples/<task>/          generated images
    <run>/results.json             metrics, notes, timing, provenance (temp file, then os.replace)
    <run>/report.md, metrics.png   the human-readable report
    <run>/report.html, report_files/   the HTML report and sample browser (ddit_eval.html_report)
    <run>/<plots, outputs>         task plots and extra outputs (a submission), as results.json records them
    <run>/lmms-eval/<model>/       the lmms-eval files (--log-format lmms-eval)
    <run>/.lock                    held by the process writing the folder

`--overwrite` removes these (`run_paths`) and nothing else, and only in a folder that holds a run of ours.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from contextlib import suppress
from datetime import datetime, timezone
from glob import escape as glob_escape
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from .errors import UsageError
from .json_diff import setting_changes
from .results import LOCK_NAME, RunLock, SampleLog, write_json_atomic

if TYPE_CHECKING:
    from .schema import RunResults

SAMPLES, RESULTS, REPORT, SUMMARY_PLOT, FINGERPRINT = "samples", "results.json", "report.md", "metrics.png", "run.json"
REPORT_HTML, REPORT_FILES = "report.html", "report_files"  # the HTML report and its data files (html_report)
LMMS_EVAL = "lmms-eval"
RUN_FILES = (SAMPLES, RESULTS, REPORT, SUMMARY_PLOT, FINGERPRINT, REPORT_HTML)
# What a run writes, as glob patterns: at the top of the folder, and per task ({task}: its name, glob-escaped).
TOP_PATTERNS = (FINGERPRINT, RESULTS, REPORT, SUMMARY_PLOT, REPORT_HTML, REPORT_FILES, f"{LMMS_EVAL}/*/*_samples_*.jsonl",
                f"{LMMS_EVAL}/*/*_results.json")
TASK_PATTERNS = ("samples/{task}.jsonl", "samples/{task}.rank*.jsonl", "samples/{task}")
# Files of ours in any folder, whatever it holds: the lock, a writability probe.
HOUSEKEEPING = (LOCK_NAME, ".write-test-*")


class RunFolder:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def new(cls, label: str, root: str | Path = "runs") -> "RunFolder":
        """runs/<UTC time>-<label>, never one that exists (two runs started in the same second get their own)."""
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        name = Path(label.split("?")[0].rstrip("/")).name.replace(":", "-") or "model"
        path, k = Path(root) / f"{stamp}-{name}", 1
        while path.exists():
            k += 1
            path = Path(root) / f"{stamp}-{name}-{k}"
        return cls(path)

    def __str__(self) -> str:
        return str(self.path)

    # -- paths
    @property
    def samples_dir(self) -> Path:
        return self.path / SAMPLES

    def task_dir(self, task: str) -> Path:
        """A task's own files beside its log (generated images, the probe's features and decoders)."""
        return self.samples_dir / task

    def sample_log(self, task: str) -> SampleLog:
        return SampleLog(self.samples_dir / f"{task}.jsonl")

    def rank_log(self, task: str, rank: int) -> SampleLog:
        return SampleLog(self.samples_dir / f"{task}.rank{rank}.jsonl")

    def rank_logs(self, task: str) -> list[SampleLog]:
        """Every rank log of a task, from this run or a killed one at any world size."""
        return [SampleLog(p) for p in sorted(self.samples_dir.glob(f"{glob_escape(task)}.rank*.jsonl"))]

    @property
    def results_path(self) -> Path:
        return self.path / RESULTS

    @property
    def fingerprint_path(self) -> Path:
        return self.path / FINGERPRINT

    @property
    def report_path(self) -> Path:
        return self.path / REPORT

    @property
    def html_report_path(self) -> Path:
        """report.html; its data files and thumbnails go in `report_files/` beside it."""
        return self.path / REPORT_HTML

    @property
    def summary_plot_path(self) -> Path:
        """Every task's headline metric in one bar chart (the report's first figure)."""
        return self.path / SUMMARY_PLOT

    def lmms_eval_dir(self, model: str) -> Path:
        """lmms-eval's layout for one model (`model`: its sanitised name)."""
        return self.path / LMMS_EVAL / model

    def relative(self, paths: Iterable[str | Path]) -> list[str]:
        """Paths as results.json records them: relative to the folder, so a moved folder still reads."""
        return [os.path.relpath(p, self.path) for p in paths]

    # -- life
    def ensure_writable(self, what: str = "output dir") -> None:
        """Create the folder and prove it writable before any work: a failure is one line, not a traceback."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / f".write-test-{os.getpid()}"  # per process: a run in progress may probe too
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise UsageError(f"{what} {str(self.path)!r} is not writable: {exc.strerror or exc}") from None

    def lock(self) -> RunLock:
        return RunLock(self.path)

    def holds_run(self) -> bool:
        return any((self.path / name).exists() for name in RUN_FILES)

    def holds_ours(self) -> bool:
        """A run of ours is here: its run.json, or a results.json that ddit-eval wrote (`score` writes no run.json)."""
        versions = self._raw_results().get("versions")
        return self.fingerprint_path.exists() or (isinstance(versions, dict) and "ddit_eval" in versions)

    def is_empty(self) -> bool:
        """Nothing in the folder but our lock and probes (what any start leaves, even a refused one)."""
        return not self.path.is_dir() or all(any(p.match(h) for h in HOUSEKEEPING) for p in self.path.iterdir())

    def run_paths(self) -> list[Path]:
        """What a run of ours wrote here (the files `--overwrite` may remove): TOP_PATTERNS, each task's TASK_PATTERNS,
        the plots and outputs results.json records, and the temp files of an interrupted atomic write of these."""
        tasks = [glob_escape(t) for t in self.recorded_tasks()]
        patterns = [*TOP_PATTERNS, *(p.format(task=t) for t in tasks for p in TASK_PATTERNS)]
        patterns += [str(Path(p).parent / f".{Path(p).name}.*.tmp") for p in patterns]
        paths = {path for pattern in patterns for path in self.path.glob(pattern)}
        paths |= {self.path / name for name in self.recorded_files()}
        return sorted(p for p in paths if self._inside(p) and (p.exists() or p.is_symlink()))

    def recorded_tasks(self) -> list[str]:
        """The tasks of the run here, from run.json and results.json; a damaged run.json: every task with a log."""
        try:
            tasks = list(json.loads(self.fingerprint_path.read_text()).get("tasks") or {})
        except (OSError, ValueError, AttributeError, TypeError):
            logs = self.samples_dir.glob("*.jsonl") if self.fingerprint_path.exists() else []
            tasks = [re.sub(r"(\.rank\d+)?\.jsonl$", "", p.name) for p in logs]
        recorded = self._raw_results().get("tasks")
        names = [*tasks, *(recorded if isinstance(recorded, dict) else [])]
        return [t for t in dict.fromkeys(names) if isinstance(t, str) and not {"", ".", ".."} & set(t.split("/"))]

    def recorded_files(self) -> list[str]:
        """Plots, outputs and ablation tables the results.json of the run here records (relative to the folder)."""
        results = self._raw_results()
        try:
            groups = [results.get("plots"), results.get("outputs"),
                      {k: a.get("files") for k, a in (results.get("ablations") or {}).items()}]
            names = [n for group in groups if group for paths in group.values() for n in paths or ()]
        except (AttributeError, TypeError):
            return []
        return [n for n in names if isinstance(n, str)]

    def _inside(self, path: Path) -> bool:
        """Strictly inside the folder (a recorded '../x' is not ours; a link is, not what it points to)."""
        root = self.path.resolve()
        where = path.parent.resolve() / path.name
        return where != root and where.is_relative_to(root) and ".." not in where.relative_to(root).parts

    def clear(self) -> None:
        """Remove what a previous run wrote (for --overwrite), and only that: other files are not ours to delete."""
        if not self.holds_ours():
            if not self.is_empty():
                raise UsageError(f"--overwrite: {str(self.path)!r} holds no ddit-eval run (no run.json), only other "
                                 "files; it removes only a run's own files: use another --output-dir")
            return
        for path in reversed(self.run_paths()):  # a task's folder after the files in it
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        for folder in (*self.path.glob("lmms-eval/*"), self.path / "lmms-eval", self.samples_dir):
            with suppress(OSError):
                folder.rmdir()  # left empty by the run: gone with it; holding a file of the user's: kept

    def start(self, fingerprint: dict, overwrite: bool) -> None:
        """Refuse to mix runs of different settings (a resume must match run.json), or start over."""
        self.ensure_writable()
        # compared as JSON sees it: a tuple setting reads back as a list and must not look like a change
        fingerprint = json.loads(json.dumps(fingerprint, default=str))
        if overwrite:
            self.clear()
        elif self.fingerprint_path.exists():
            try:
                recorded = json.loads(self.fingerprint_path.read_text())
            except (OSError, ValueError) as exc:
                raise UsageError(f"cannot read {str(self.fingerprint_path)!r} ({exc}); use --overwrite to start over") from None
            if recorded != fingerprint:
                raise UsageError(f"{str(self.path)!r} holds a run with other settings ({setting_changes(recorded, fingerprint)}); "
                                 "use another --output-dir, or --overwrite to start over")
        write_json_atomic(self.fingerprint_path, fingerprint)

    def check_sample_logs(self, tasks: Iterable[str]) -> None:
        """A damaged sample log is one line naming file and line now, not a traceback after the model loads."""
        for name in tasks:
            log = self.sample_log(name)
            try:
                log.load()
            except ValueError as exc:
                raise UsageError(f"{exc} (or --overwrite to start over)") from None
            except OSError as exc:
                raise UsageError(f"cannot read {str(log.path)!r}: {exc.strerror or exc}") from None

    # -- results
    def read_results(self) -> "RunResults":
        """What an earlier process of this run wrote (empty if nothing readable)."""
        from .schema import RunResults

        try:
            return RunResults.from_json(json.loads(self.results_path.read_text()))
        except (OSError, ValueError):
            return RunResults()

    def write_results(self, results: "RunResults") -> None:
        results.write(self.results_path)

    def _raw_results(self) -> dict:
        """results.json as plain JSON, however damaged its entries ({} if unreadable): what --overwrite may remove
        is judged from it, so a file the schema refuses still names the files of ours it records."""
        try:
            data = json.loads(self.results_path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}
