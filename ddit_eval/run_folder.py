"""One object owns a run folder: every path in it, the settings fingerprint and resume check, what
`--overwrite` removes, and the atomic results writer.  Nothing else in ddit-eval spells these paths.

    <run>/run.json                 the settings fingerprint (a resume must match it)
    <run>/samples/<task>.jsonl     one record per sample, appended batch by batch
    <run>/samples/<task>.rank<k>.jsonl   rank k's records in a data-parallel run, until rank 0 folds them
    <run>/samples/<task>/          generated images
    <run>/results.json             metrics, notes, timing, provenance (temp file, then os.replace)
    <run>/report.md, metrics.png   the human-readable report
    <run>/.lock                    held by the process writing the folder
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timezone
from glob import escape as glob_escape
from pathlib import Path
from typing import Iterable

from .errors import UsageError
from .results import RunLock, SampleLog, write_json_atomic

RUN_FILES = ("samples", "results.json", "report.md", "metrics.png", "run.json")


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
        return self.path / "samples"

    def sample_log(self, task: str) -> SampleLog:
        return SampleLog(self.samples_dir / f"{task}.jsonl")

    def rank_log(self, task: str, rank: int) -> SampleLog:
        return SampleLog(self.samples_dir / f"{task}.rank{rank}.jsonl")

    def rank_logs(self, task: str) -> list[SampleLog]:
        """Every rank log of a task, from this run or a killed one at any world size."""
        return [SampleLog(p) for p in sorted(self.samples_dir.glob(f"{glob_escape(task)}.rank*.jsonl"))]

    @property
    def results_path(self) -> Path:
        return self.path / "results.json"

    @property
    def fingerprint_path(self) -> Path:
        return self.path / "run.json"

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

    def clear(self) -> None:
        """Remove what a previous run wrote (for --overwrite); other files are not ours to delete."""
        for name in self.recorded_plots():  # task plots of the previous run, so none is left stale
            (self.path / name).unlink(missing_ok=True)
        for name in RUN_FILES:
            path = self.path / name
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)

    def recorded_plots(self) -> list[str]:
        """Plot files the previous results.json recorded (only paths inside the folder)."""
        try:
            names = [n for paths in self.read_results().get("plots", {}).values() for n in paths]
        except (AttributeError, TypeError):
            return []
        root = self.path.resolve()
        return [n for n in names if isinstance(n, str) and (root / n).resolve().is_relative_to(root)]

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
                keys = sorted(k for k in set(recorded) | set(fingerprint) if recorded.get(k) != fingerprint.get(k))
                raise UsageError(f"{str(self.path)!r} holds a run with other settings ({', '.join(keys)} differ); "
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
    def read_results(self) -> dict:
        """What an earlier process of this run wrote ({} if nothing readable)."""
        try:
            data = json.loads(self.results_path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def write_results(self, results: dict) -> None:
        write_json_atomic(self.results_path, results)
