"""One task's sample browser data: its log streamed into page files, flags and search text, with thumbnails.

The log is read line by line, not through `SavedRun.records`, so a 214K-record log never sits in memory
as dicts; each record becomes its display form, its status bits (status.py) and its search text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator, Optional

from ..api import GENERATE_IMAGES
from ..errors import UsageError
from ..saved_run import SavedRun
from .datafiles import DatasetWriter
from .geneval_view import reason, results_rows, rows_by_image
from .records import display_record, search_text
from .status import CORRECTNESS_FULL_MARKS, FILTERS, correctness_metric, sample_flags
from .thumbs import InputImages, Thumbnails


def iter_log(path: Path) -> Iterator[dict]:
    """A sample log's records in order; a torn last line (a killed writer) is left out."""
    with open(path, encoding="utf-8") as f:
        pending = None
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            if pending is not None:
                raise UsageError(f"{path}:{pending}: not valid JSON")
            try:
                record = json.loads(line)
            except ValueError:
                pending = number
                continue
            if isinstance(record, dict):
                yield record


def parse_rule(run: SavedRun, task: str) -> Optional[str]:
    """The yes/no parse rule the run scored with (None: not a yes/no task)."""
    recorded = (run.results.config.get("tasks") or {}).get(task) or {}
    rule = (recorded.get("settings") or {}).get("parse_rule") or recorded.get("parse_rule")
    return rule if isinstance(rule, str) else None


def image_scope(run: SavedRun, task: str) -> str:
    """The recorded data and settings of a task: with a sample's image id, they pick its input image."""
    recorded = (run.results.config.get("tasks") or {}).get(task) or {}
    return json.dumps([recorded.get("dataset"), recorded.get("settings")], sort_keys=True, default=str)


def rebuilt_task(run: SavedRun, task: str) -> tuple[Optional[object], str]:
    """(the task built with the recorded settings, or None and why not)."""
    try:
        built = run.task(task)
    except Exception as exc:  # noqa: BLE001 - an unknown or unbuildable task shows its samples without images
        return None, f"the task cannot be rebuilt here ({(str(exc).splitlines() or [type(exc).__name__])[0][:160]})"
    return (built, "") if built is not None else (None, "not a task of samples")


class _Images:
    """Thumbnails for one task: its input images, or its generated ones with their GenEval verdicts."""

    def __init__(self, run: SavedRun, task: str, data_dir: Path, enabled: bool) -> None:
        built, why = rebuilt_task(run, task) if enabled else (None, "")
        self.generates = built is not None and getattr(built, "request_kind", None) == GENERATE_IMAGES
        self.run, self.task, self.enabled = run, task, enabled
        self.inputs = InputImages(data_dir, None if self.generates else built, why, image_scope(run, task))
        self.outputs = Thumbnails(data_dir)
        self.verdicts = rows_by_image(run, task, results_rows(run, task)) if enabled else {}

    def thumb(self, record: dict) -> Optional[str]:
        return self.inputs.of_record(record) if self.enabled and not self.generates else None

    def generated(self, record: dict) -> Optional[list[dict]]:
        prediction = record.get("prediction")
        if not self.enabled or not isinstance(prediction, list):
            return None
        shown = []
        for relative in prediction:
            path = (self.run.folder.samples_dir / str(relative)).resolve()
            row = self.verdicts.get(str(path))
            shown.append({"src": self.outputs.of_file(path), "ok": None if row is None else bool(row["correct"]),
                          "why": "" if row is None or row["correct"] else reason(row)})
        return shown

    def notes(self) -> list[str]:
        notes = [self.inputs.note] if self.inputs.note else []
        if self.outputs.failures:
            notes.append(f"{self.outputs.failures} generated images could not be read ({self.outputs.first_failure})")
        return notes


def wrong_rule(metric: Optional[str], primary: Optional[str]) -> str:
    if metric is None:
        return f"no right or wrong here: {primary or 'its score'} has no full mark (the wrong filter is n/a)"
    return f"wrong = per-sample {metric} below {CORRECTNESS_FULL_MARKS[metric]:g}"


def write_task_samples(run: SavedRun, task: str, data_dir: Path, key: str, thumbnails: bool = True) -> Optional[dict]:
    """Write the task's data files; its manifest entry (sizes, filter counts, notes), None without a log."""
    path = run.folder.sample_log(task).path
    if not path.is_file():
        return None
    summary = run.results.tasks.get(task)
    primary = summary.primary if summary else None
    rule, images = parse_rule(run, task), _Images(run, task, data_dir, thumbnails)
    writer, metric, generates = DatasetWriter(data_dir, key), None, False
    for position, record in enumerate(iter_log(path)):
        flags = sample_flags(record, primary, rule)
        metric = metric or correctness_metric(record.get("scores") or {}, primary)
        generates = generates or isinstance(record.get("prediction"), list)
        shown = display_record(record, position, flags, images.thumb(record), images.generated(record))
        writer.add(shown, flags, search_text(record))
    entry = writer.finish(FILTERS)
    na = {"wrong"} if metric is None else set()
    na |= set() if rule else {"unparsed"}
    entry["filters"] = [{"name": name, "bit": bit, "count": entry["counts"][name], "na": name in na}
                        for name, bit in FILTERS]
    entry["notes"] = [wrong_rule(metric, primary), *images.notes()]
    entry["generates"] = generates
    return entry
