"""The samples whose outcome changed between a baseline and a candidate run, side by side, as data files.

A sample's outcome is its correctness score (status.py: accuracy, correct_images), or for a task without one
its primary per-sample score (a caption's CIDEr); it changed when the two values differ or when it failed in
one run only.  For a score without a full mark, which may depend on the whole corpus (CIDEr), the prediction
must have changed too.  worse / better follow the metric's direction; `errored` marks a failure in one run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..api import GENERATE_IMAGES
from ..results import is_number
from ..saved_run import SavedRun
from .datafiles import DatasetWriter
from .records import context, input_text, references, rounded_scores, search_text
from .run_samples import image_scope, parse_rule, rebuilt_task
from .status import CORRECTNESS_FULL_MARKS, correctness_metric, sample_flags
from .thumbs import InputImages, Thumbnails

WORSE, BETTER, ERROR_CHANGED = 1, 2, 4
COMPARE_FILTERS = (("worse", WORSE), ("better", BETTER), ("errored", ERROR_CHANGED))


def outcome_metric(records: list[dict], primary: Optional[str]) -> Optional[str]:
    """The per-sample score the outcome is read from: a correctness score, else the primary's own."""
    for record in records:
        scores = record.get("scores") or {}
        found = correctness_metric(scores, primary) or (primary if primary in scores else None)
        if found:
            return found
    return None


def change_flags(base: dict, cand: dict, metric: Optional[str], higher_is_better: bool, same_answer_same: bool) -> int:
    """WORSE / BETTER (with ERROR_CHANGED when a failure in one run made it), 0 when the outcome is the same.

    `same_answer_same`: an unchanged prediction is an unchanged outcome, for scores that depend on the whole
    corpus (a caption's CIDEr moves with the other captions' n-gram weights even when its own text did not)."""
    failed = ("error" in base, "error" in cand)
    if failed == (True, True):
        return 0
    if failed[1]:
        return WORSE | ERROR_CHANGED
    if failed[0]:
        return BETTER | ERROR_CHANGED
    if same_answer_same and base.get("prediction") == cand.get("prediction"):
        return 0
    b, c = ((r.get("scores") or {}).get(metric) for r in (base, cand)) if metric else (None, None)
    if not (is_number(b) and is_number(c)) or abs(c - b) <= 1e-9:
        return 0
    return BETTER if (c > b) == higher_is_better else WORSE


def _side(run: SavedRun, record: dict, thumbs: Optional[Thumbnails], primary: Optional[str], rule: Optional[str]) -> dict:
    side: dict = {"f": sample_flags(record, primary, rule), "s": rounded_scores(record.get("scores"))}
    prediction = record.get("prediction")
    if isinstance(prediction, str):
        side["p"] = prediction
    elif isinstance(prediction, list):
        side["im"] = [{"src": thumbs.of_file(run.folder.samples_dir / str(p)) if thumbs else None, "ok": None, "why": ""}
                      for p in prediction]
    if "error" in record:
        side["e"] = str(record["error"])
        side["tb"] = str(record.get("traceback") or "")[-3000:]
    return side


def write_changed_samples(baseline: SavedRun, candidate: SavedRun, task: str, data_dir: Path,
                          thumbnails: bool = True) -> Optional[dict]:
    """The task's changed samples as data files (manifest entry), None when neither run has a log of it."""
    base_records, cand_records = baseline.records(task), candidate.records(task)
    if not base_records or not cand_records:
        return None
    summary = baseline.results.tasks[task]
    primary, rule = summary.primary, parse_rule(baseline, task)
    metric = outcome_metric(base_records, primary)
    higher = summary.higher_is_better(metric) if metric else True
    cand_by_id = {r.get("id"): r for r in cand_records}
    built, why = rebuilt_task(baseline, task) if thumbnails else (None, "")
    inputs = InputImages(data_dir, None if getattr(built, "request_kind", None) == GENERATE_IMAGES else built, why,
                         image_scope(baseline, task))
    outputs = Thumbnails(data_dir) if thumbnails else None
    writer, shared = DatasetWriter(data_dir, task), 0
    for base in base_records:
        cand = cand_by_id.get(base.get("id"))
        if cand is None:
            continue
        shared += 1
        flags = change_flags(base, cand, metric, higher, metric not in CORRECTNESS_FULL_MARKS)
        if not flags:
            continue
        shown = {"i": len(writer.flags), "id": str(base.get("id")), "f": flags,
                 "q": input_text(base), "m": context(base), "r": references(base),
                 "t": inputs.of_record(base),
                 "b": _side(baseline, base, outputs, primary, rule), "n": _side(candidate, cand, outputs, primary, rule)}
        text = f"{search_text(base)} {search_text(cand)}"
        writer.add({k: v for k, v in shown.items() if v not in (None, "", [], {})}, flags, text)
    entry = writer.finish(COMPARE_FILTERS)
    entry["filters"] = [{"name": n, "bit": b, "count": entry["counts"][n], "na": False} for n, b in COMPARE_FILTERS]
    direction = "higher is better" if higher else "lower is better"
    entry["notes"] = [f"outcome = per-sample {metric} ({direction}); {entry['total']} of {shared} shared samples changed"
                      if metric else "no per-sample score to compare; only samples that failed in one run are listed",
                      *([inputs.note] if inputs.note else [])]
    return entry
