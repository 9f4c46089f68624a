"""One sample-log record as the browser shows it, and the short text the search looks in.

The page files hold 214K of these for VQAv2, so the keys are one or two letters (read by report.js):
i position in the log, id, f status flags, q question or prompt, m context (category, answer type, tag),
r references, p text prediction, im generated images, t input-image thumbnail, s per-sample scores,
e error, tb traceback.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Optional

from .html_text import finite
from .layout import SEARCH_CHARS

META_KEYS = ("category", "tag", "answer_type", "question_type", "split")
TRACEBACK_CHARS = 3000  # the end of a traceback is where the error is
_SPACES = re.compile(r"\s+")


def input_text(record: dict) -> str:
    """What the model was asked: the question; for image generation, the prompt (an answer task's `prompt` is
    the whole model prompt around the question, shown as the question alone)."""
    for key in ("question", "prompt"):
        value = record.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def references(record: dict) -> list[str]:
    """The reference answers: VQA's ten as distinct texts with their counts ("2 ×8"), else `answer` (a text or a
    caption task's list)."""
    answers = record.get("answers")
    if isinstance(answers, list) and answers:
        texts = [str(a.get("answer", "")) if isinstance(a, dict) else str(a) for a in answers]
        counts = Counter(texts).most_common()
        if all(n == 1 for _, n in counts):
            return [text for text, _ in counts]
        return [f"{text} ×{n}" if n > 1 else text for text, n in counts]
    answer = record.get("answer")
    if isinstance(answer, list):
        return [str(a) for a in answer]
    return [] if answer in (None, "") else [str(answer)]


def context(record: dict) -> dict[str, str]:
    return {k: str(record[k]) for k in META_KEYS if record.get(k) not in (None, "")}


def rounded_scores(scores: dict) -> dict:
    return finite({k: round(v, 4) if isinstance(v, float) else v for k, v in (scores or {}).items()})


def display_record(record: dict, position: int, flags: int, thumb: Optional[str] = None,
                   images: Optional[list[dict]] = None) -> dict:
    """The browser's view of a record; `thumb` is the input image's thumbnail, `images` the generated ones
    (each {"src", "ok", "why"}), paths relative to the task's data folder."""
    out: dict = {"i": position, "id": str(record.get("id")), "f": flags}
    optional = {"q": input_text(record), "m": context(record), "r": references(record), "t": thumb,
                "s": rounded_scores(record.get("scores")), "im": images}
    out.update({k: v for k, v in optional.items() if v})
    prediction = record.get("prediction")
    if isinstance(prediction, str):
        out["p"] = prediction
    if "error" in record:
        out["e"] = str(record["error"])
        traceback = str(record.get("traceback") or "")
        if traceback:
            out["tb"] = traceback[-TRACEBACK_CHARS:]
    return out


def search_text(record: dict) -> str:
    """Lowercase id, question, prediction, references and error, spaces collapsed, cut to SEARCH_CHARS."""
    prediction = record.get("prediction")
    parts = [str(record.get("id", "")), input_text(record), prediction if isinstance(prediction, str) else "",
             " ".join(references(record)), str(record.get("error") or "")]
    return _SPACES.sub(" ", " ".join(p for p in parts if p)).strip().lower()[:SEARCH_CHARS]
