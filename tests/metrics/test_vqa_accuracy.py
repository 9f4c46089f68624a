"""VQA accuracy against hand-computed values and an independent transcription of vqaEval.py."""

import itertools
import json
import random
from pathlib import Path

import pytest
from vqa_reference import OfficialVQAEval

from ddit_eval.errors import UsageError
from ddit_eval.metrics.vqa import VQAAccuracy, normalize_answer, process_punctuation, vqa_accuracy

TABLES = json.loads((Path(__file__).parents[2] / "ddit_eval/metrics/vqa_tables.json").read_text())


def tricky_strings():
    """A few hundred answer strings exercising every rule of the normalisation."""
    out = list(TABLES["contractions"]) + list(TABLES["number_words"])
    out += [w.capitalize() + "." for w in TABLES["number_words"]]
    out += [f"{a} {w}" for a, w in itertools.product(["a", "an", "the", "The"], ["3", "dog", "two", "apple."])]
    for p in TABLES["punctuation"]:
        out += [f"red{p}", f"red {p} blue", f"{p}red", f"1{p}000", f"yes{p}"]
    out += ["2.", "2", "10.5", ".5", "2.5.", "1,000", "1,000.", "e.g.", "...", "a.b.c", "." * 40 + "x",
            "U.S.A.", "3 p.m.", "yes\n", "\tno", " yes ", "don't", "dont", "Isnt", "it's", "o'clock",
            "oclock", "2 dogs", "two dogs", "none", "None.", "zero", "ten", "eleven", "1st", "first",
            "top-left", "top - left", "top -left", "50%", "$5", "a&w", "c*t", "x:y", "it's 2:30", ""]
    return out


# --------------------------------------------------------------------------- hand-computed cases


@pytest.mark.parametrize("raw, expected", [
    ("dont", "don't"), ("Isnt it", "isn't it"), ("2.", "2"), ("10.5", "10.5"), (".5", ".5"), ("the 3", "3"),
    ("Two", "2"), ("an apple", "apple"), ("1,000", "1000"), ("yes!", "yes"), ("red, blue", "red blue"),
    ("top-left", "top left"), ("top - left", "top left"), ("none", "0"), ("first", "first"), ("50%", "50%"),
])
def test_normalisation_cases(raw, expected):
    assert normalize_answer(raw) == expected


def test_at_most_32_periods_are_stripped():
    assert process_punctuation("." * 40) == "." * 8


@pytest.mark.parametrize("matches, expected", [(0, 0.0), (1, 0.3), (2, 0.6), (3, 0.9), (4, 1.0), (10, 1.0)])
def test_leave_one_out_accuracy(matches, expected):
    """With m matches among 10: (m*min(1,(m-1)/3) + (10-m)*min(1,m/3)) / 10."""
    refs = ["cat"] * matches + ["dog", "cow", "pig", "hen", "owl", "elk", "ant", "bee", "eel", "yak"][: 10 - matches]
    assert vqa_accuracy("cat", refs) == pytest.approx(expected)


def test_official_rule_skips_normalisation_when_references_agree():
    """All ten '2': the prediction '2.' is not normalised and fails; always-normalise accepts it."""
    assert vqa_accuracy("2.", ["2"] * 10) == 0.0
    assert vqa_accuracy("2.", ["2"] * 10, rule="always-normalise") == 1.0
    assert vqa_accuracy(" 2\n", ["2"] * 10) == 1.0  # whitespace is always cleaned
    assert vqa_accuracy("2.", ["2"] * 9 + ["two"]) == 1.0  # disagreeing refs: both sides normalised


def test_metric_object_per_answer_type_and_reset():
    m = VQAAccuracy()
    m.update(["yes", "2", "red"], [["yes"] * 10, ["2"] * 2 + ["3"] * 8, ["blue"] * 10], ["yes/no", "number", "other"])
    assert m.compute() == pytest.approx({"accuracy": 100 * 1.6 / 3, "accuracy_yes_no": 100.0,
                                         "accuracy_number": 60.0, "accuracy_other": 0.0})
    assert [s["accuracy"] for s in m.per_sample()] == pytest.approx([100, 60, 0])
    m.reset()
    with pytest.raises(ValueError):
        m.compute()


def test_bad_rule_and_mismatched_columns_are_errors():
    with pytest.raises(UsageError, match="always-normalise"):
        VQAAccuracy(rule="lenient")
    with pytest.raises(ValueError, match="predictions=1, answers=2"):
        VQAAccuracy().update(["a"], [["a"], ["b"]])


def test_matches_official_transcription_on_tricky_strings():
    """Few hundred tricky strings as predictions and references: equal to the transcription per question."""
    strings = tricky_strings()
    assert len(strings) > 250
    rng = random.Random(0)
    official = OfficialVQAEval()
    for i, pred in enumerate(strings):
        pool = [pred, normalize_answer(pred) or "x", rng.choice(strings)]
        refs = [rng.choice(pool) for _ in range(10)] if i % 5 else [pred] * 10
        assert vqa_accuracy(pred, refs) == pytest.approx(official.question_accuracy(pred, refs), abs=1e-12), (pred, refs)
