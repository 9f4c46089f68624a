"""Submission files for test splits scored by a server (VQAv2 on EvalAI, VizWiz).

Answers are written already normalised with the official VQA answer processing
(`metrics.vqa.clean_whitespace` + `normalize_answer`): the server normalises only when
a question's 10 human answers differ, so a normalised prediction scores the same as
it does in our own scorer whichever way the server goes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from .metrics.vqa import clean_whitespace, normalize_answer
from .results import write_text_atomic


def normalised(text: str) -> str:
    """The official VQA processing of one answer, as the test servers apply it."""
    return normalize_answer(clean_whitespace(text))


def vqav2_submission(answers: Mapping[int, str], all_question_ids: Iterable[int], pad: str = "yes") -> list[dict]:
    """EvalAI's VQAv2 rows: one {question_id, answer} for EVERY id of `all_question_ids`, once.

    EvalAI rejects a test-dev or test submission that misses any test2015 question
    (447,793), so ids without an answer get `pad`.  Rows follow `all_question_ids`
    order (repeats dropped).  An answered id outside `all_question_ids` is a
    ValueError: it means the answers came from another split.
    """
    given = {int(qid): text for qid, text in answers.items()}
    ordered = list(dict.fromkeys(int(qid) for qid in all_question_ids))
    stray = given.keys() - set(ordered)
    if stray:
        sample = ", ".join(str(q) for q in sorted(stray)[:5])
        raise ValueError(f"{len(stray)} answered question ids are not in all_question_ids (e.g. {sample})")
    padding = normalised(pad)
    return [{"question_id": qid, "answer": normalised(given[qid]) if qid in given else padding} for qid in ordered]


def vizwiz_answer(text: str) -> str:
    """VizWiz's rule: any answer mentioning "unanswer" (any case) becomes "unanswerable"."""
    return "unanswerable" if "unanswer" in text.lower() else text


def vizwiz_submission(answers: Mapping[str, str]) -> list[dict]:
    """VizWiz test rows [{image: "VizWiz_test_00000000.jpg", answer}] in the given order.

    Keys are image names; ".jpg" is added when missing.  Answers go through
    `vizwiz_answer`, then the VQA normalisation.
    """
    def image(name: str) -> str:
        return name if name.lower().endswith(".jpg") else f"{name}.jpg"
    return [{"image": image(str(name)), "answer": normalised(vizwiz_answer(text))} for name, text in answers.items()]


def write_submission(path: str | Path, rows: Sequence[dict]) -> None:
    """Write rows as one JSON list, atomically: a half-written upload file is worse than none."""
    write_text_atomic(path, json.dumps(list(rows), separators=(",", ":")) + "\n")
