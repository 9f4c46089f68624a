"""Answer health: shares of empty (incl. T5 special tokens only) and unparsed answers, with examples."""

import pytest

from ddit_eval.metrics.answers import answer_health, is_empty_answer
from ddit_eval.metrics.yesno import is_unparsed

PREDICTIONS = ["yes", "", "  ", "</s>", "<pad><pad>", "<extra_id_12> </s>", "no </s>", "maybe", "<unk>", "a"]
IDS = [f"q{i}" for i in range(10)]


@pytest.mark.parametrize("text, empty", [
    ("", True), (" \n\t", True), ("</s>", True), ("<pad> <pad></s>", True), ("<extra_id_12>", True),
    ("no </s>", False), ("a", False), ("<s>", False),  # "<s>" is not a T5 token: kept as text
])
def test_is_empty_answer(text, empty):
    assert is_empty_answer(text) is empty


def test_shares_and_notes_by_hand():
    """Empty: q1 "", q2 "  ", q3 "</s>", q4 "<pad><pad>", q5 "<extra_id_12> </s>", q8 "<unk>" = 6/10 = 60%.

    Unparsed flags given for q1, q2, q7 = 3/10 = 30%.
    """
    unparsed = [False, True, True, False, False, False, False, True, False, False]
    metrics, notes = answer_health(PREDICTIONS, unparsed, examples=2, ids=IDS)
    assert metrics == {"empty_answers": 60.0, "unparsed_answers": 30.0}
    assert notes == ["empty answers: 6 of 10 (60.0%), e.g. q1: '', q2: '  '",
                     "unparsed answers: 3 of 10 (30.0%), e.g. q1: '', q2: '  '"]


def test_without_unparsed_or_ids():
    """No unparsed flags: only empty_answers; examples named by position (3 shown by default)."""
    metrics, notes = answer_health(["x", "</s>", "y", ""])
    assert metrics == {"empty_answers": 50.0}
    assert notes == ["empty answers: 2 of 4 (50.0%), e.g. 1: '</s>', 3: ''"]


def test_healthy_answers_give_no_notes():
    metrics, notes = answer_health(["yes", "no"], [False, False])
    assert metrics == {"empty_answers": 0.0, "unparsed_answers": 0.0} and notes == []


def test_with_pope_rule_unparsed_flags():
    """Under POPE's rule "", "NO" and "maybe" read no yes/no word -> 3 of 5 = 60% unparsed; "" is 1/5 = 20% empty."""
    preds = ["Yes", "", "NO", "maybe", "not here"]
    metrics, _ = answer_health(preds, [is_unparsed(p, "pope") for p in preds])
    assert metrics == {"empty_answers": 20.0, "unparsed_answers": 60.0}


def test_mismatched_lengths_are_errors():
    with pytest.raises(ValueError, match="unparsed"):
        answer_health(["a", "b"], [True])
    with pytest.raises(ValueError, match="ids"):
        answer_health(["a", "b"], ids=["x"])


def test_no_answers_give_undefined_shares():
    """0 of 0 answers empty is 0/0: undefined (None), not 0%."""
    metrics, notes = answer_health([], [])
    assert metrics == {"empty_answers": None, "unparsed_answers": None} and notes == []
