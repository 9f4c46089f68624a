"""What `score` scores: a predictions file or an images folder made elsewhere, checked and turned into the
records a run would have logged (so scoring goes through the run's own code, run.execute_score)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .errors import UsageError
from .results import read_jsonl


@dataclass(frozen=True)
class ScoreInput:
    """`path`: the predictions file or images folder; `predictions`: id -> line (None for an images folder)."""

    path: Path
    predictions: Optional[dict[str, dict]]

    @classmethod
    def open(cls, task, predictions: Optional[str], images_dir: Optional[str]) -> "ScoreInput":
        """Bad input is one line before any folder is touched: no image-folder scoring, a failed preflight,
        an unreadable predictions file."""
        if images_dir and not task.scores_images_dir:
            raise UsageError(f"task {task.name} has no image-folder scoring")
        task.preflight()
        path = Path(images_dir or predictions)
        return cls(path, None if images_dir else read_predictions(path, task))

    def records(self, task) -> tuple[list[dict], int]:
        """The records to score, in sample order, and the task's sample count."""
        predictions = self.predictions or {}
        samples = {s.id: s for s in task.samples()}
        unknown = [i for i in predictions if i not in samples]
        if unknown:
            raise UsageError(f"{len(unknown)} prediction ids are not samples of {task.name!r}, e.g. {unknown[0]!r}")
        if self.predictions is None:
            records = task.records_from_images_dir(self.path)
        else:  # lines with a prediction are scored; lines with an error count as failed samples, as in a run
            records = [{"id": i, **task.describe_sample(s), **{k: predictions[i][k] for k in ("prediction", "error")
                                                                 if k in predictions[i]}}
                       for i, s in samples.items() if i in predictions and ("prediction" in predictions[i] or "error" in predictions[i])]
        if not any("prediction" in r for r in records):
            raise UsageError(f"{str(self.path)!r} has no line with a prediction")
        return records, len(samples)


def read_predictions(path: Path, task) -> dict[str, dict]:
    """id -> line of a predictions file; unreadable files, lines without an id and repeated ids are bad input.

    A line without our `id` is matched by the benchmark's own ids (question_id, ...), where the task knows them.
    """
    try:
        lines = read_jsonl(path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read predictions {str(path)!r}: {_not_jsonl(path) or exc}") from None
    predictions: dict[str, dict] = {}
    for number, line in enumerate(lines, 1):
        if not isinstance(line, dict):
            raise UsageError(f"predictions {str(path)!r}: record {number} is a JSON {_json_kind(line)}, "
                             "not an object: the file is not JSONL (one JSON object per line: id, prediction)")
        key = _prediction_id(line, task)
        if key is None:
            raise UsageError(f"predictions {str(path)!r}: record {number} has no 'id' (nor the benchmark's own ids)")
        if key in predictions:
            raise UsageError(f"predictions {str(path)!r}: id {key!r} appears twice")
        predictions[key] = line
    return predictions


def _json_kind(value) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def _not_jsonl(path: Path) -> str | None:
    """Why a file that is not valid JSONL is not: a JSON array (pretty-printed) is the usual mistake."""
    try:
        with open(path, encoding="utf-8") as f:
            head = f.read(4096).lstrip()
    except (OSError, ValueError):
        return None
    return "it is a JSON array, not JSONL (one JSON object per line: id, prediction)" if head.startswith("[") else None


def _prediction_id(line, task) -> str | None:
    if not isinstance(line, dict):
        return None
    if "id" in line:
        return line["id"]
    try:
        return task.sample_id(line)
    except KeyError:
        return None
