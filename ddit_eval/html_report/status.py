"""What the sample browser's filters mean: a sample's status as bit flags, decided once, here.

- errored: the record has an `error` (the model or the scorer failed on it; it has no prediction);
- empty: the prediction is empty once T5's special tokens are removed (`metrics.answers.is_empty_answer`),
  or an image task returned no image;
- unparsed: a yes/no task (one with a `parse_rule` setting) whose rule read no yes/no decision in the answer
  (`metrics.yesno.is_unparsed`: for POPE's rule the default "yes" was taken);
- wrong: its correctness score is below full marks.  The correctness score is the per-sample score with a
  known full mark (CORRECTNESS_FULL_MARKS): the primary metric's own per-sample score when it has one, else
  the one that averages to it (MME perception and GenEval overall average `accuracy` and `correct_images`).
  VQA accuracy is partial credit, so a 60 (two annotators agreed) counts as wrong.  A task whose scores have
  no full mark (captions: CIDEr, BLEU; CLIPScore) has no right or wrong: its `wrong` filter is marked n/a.

A sample can be empty, unparsed and wrong at once; the flags combine, one hexadecimal digit a sample.
"""

from __future__ import annotations

from typing import Optional

from ..metrics.answers import is_empty_answer

ERRORED, EMPTY, UNPARSED, WRONG = 1, 2, 4, 8
FILTERS = (("wrong", WRONG), ("empty", EMPTY), ("unparsed", UNPARSED), ("errored", ERRORED))
# per-sample scores that say right or wrong, with the value of a right answer
CORRECTNESS_FULL_MARKS = {"accuracy": 100.0, "correct_images": 1.0}


def correctness_metric(scores: dict, primary: Optional[str]) -> Optional[str]:
    """The per-sample score that says right or wrong for this task, or None when its scores have no full mark."""
    if primary in CORRECTNESS_FULL_MARKS and primary in scores:
        return primary
    return next((name for name in CORRECTNESS_FULL_MARKS if name in scores), None)


def is_wrong(scores: dict, metric: Optional[str]) -> bool:
    value = scores.get(metric) if metric else None
    return isinstance(value, (int, float)) and value < CORRECTNESS_FULL_MARKS[metric] - 1e-9


def unparsed(prediction, parse_rule: Optional[str]) -> bool:
    """True for a text answer the task's yes/no rule could not read; False for tasks without a yes/no rule."""
    if not parse_rule or not isinstance(prediction, str):
        return False
    from ..metrics.yesno import is_unparsed

    try:
        return is_unparsed(prediction, parse_rule)
    except Exception:  # noqa: BLE001 - a rule this version does not know flags nothing, it does not stop the page
        return False


def is_empty(prediction) -> bool:
    if isinstance(prediction, str):
        return is_empty_answer(prediction)
    return isinstance(prediction, list) and not prediction


def sample_flags(record: dict, primary: Optional[str], parse_rule: Optional[str] = None) -> int:
    """The status bits of one sample-log record."""
    if "error" in record:
        return ERRORED
    prediction = record.get("prediction")
    scores = record.get("scores") or {}
    flags = EMPTY if is_empty(prediction) else 0
    if unparsed(prediction, parse_rule):
        flags |= UNPARSED
    if is_wrong(scores, correctness_metric(scores, primary)):
        flags |= WRONG
    return flags


def flag_names(flags: int) -> list[str]:
    """The filters a sample is in, for its badges.

    >>> flag_names(EMPTY | WRONG)
    ['wrong', 'empty']
    """
    return [name for name, bit in FILTERS if flags & bit]
