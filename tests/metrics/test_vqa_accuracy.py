"""VQA accuracy against hand-computed values and an independent transcription of vqaEval.py."""

import itertools
import json
import random
from pathlib import Path

import pytest

from ddit_eval.errors import UsageError
from ddit_eval.metrics.vqa import VQAAccuracy, normalize_answer, process_punctuation, vqa_accuracy
from helpers.vqa_reference import ARTICLES, CONTRACTIONS, MANUAL_MAP, PUNCT, OfficialVQAEval

TABLES = json.loads((Path(__file__).parents[2] / "ddit_eval/metrics/vqa_tables.json").read_text())


def tricky_strings():
    """A few hundred answer strings exercising every rule of the normalisation (built from the official tables)."""
    out = list(CONTRACTIONS) + [k.upper() for k in CONTRACTIONS][:20] + [f"{k}." for k in CONTRACTIONS][:20]
    out += list(MANUAL_MAP) + [w.capitalize() + "." for w in MANUAL_MAP] + [f"{w}," for w in MANUAL_MAP]
    out += [f"{a} {w}" for a, w in itertools.product(ARTICLES + ["The", "AN"], ["3", "dog", "two", "apple.", "isnt"])]
    out += ["a", "the", "an", "the the", "a an the", "thea", "an.", "(the) 3", "a-3", "the-3"]
    for p in PUNCT:
        out += [f"red{p}", f"red {p} blue", f"{p}red", f"1{p}000", f"yes{p}", f"top{p}left", f"2{p}5"]
        out += [f"top{p}left a{p};b"]  # the "p " test reads the ORIGINAL text, not the partly replaced one
    out += ["2.", "2", "10.5", ".5", "2.5.", "1,000", "1,000.", "e.g.", "...", "a.b.c", "." * 40 + "x",
            "U.S.A.", "3 p.m.", "yes\n", "\tno", " yes ", "don't", "dont", "Isnt", "it's", "o'clock",
            "oclock", "2 dogs", "two dogs", "none", "None.", "zero", "ten", "eleven", "1st", "first",
            "top-left", "top - left", "top -left", "50%", "$5", "a&w", "c*t", "x:y", "it's 2:30", "",
            "1,000 (about)", "(1,000)", "3,5-dimethyl", "1, 2", "1 ,2", "yes/no", "24/7", "3.14.", "3 .5", "3. 5",
            "a.m", "2..", "2...3", "u.s. army", "Two Dogs.", "  two  ", "two\tdogs", "multi\nline answer", "'twas",
            "twas", "y'all", "yall'll", "Im", "im", "I'm", "somebody'd", "DONT!", "can't", "cant.", "wont?"]
    return out


# --------------------------------------------------------------------------- hand-computed cases


@pytest.mark.parametrize("raw, expected", [
    ("dont", "don't"), ("Isnt it", "isn't it"), ("2.", "2"), ("10.5", "10.5"), (".5", ".5"), ("the 3", "3"),
    ("Two", "2"), ("an apple", "apple"), ("1,000", "1000"), ("yes!", "yes"), ("red, blue", "red blue"),
    ("top-left", "top left"), ("top - left", "top left"), ("none", "0"), ("first", "first"), ("50%", "50%"),
])
def test_normalisation_cases(raw, expected):
    assert normalize_answer(raw) == expected


def test_package_tables_are_the_official_ones():
    """The shipped tables equal the transcription of the official VQAEval.__init__, entry by entry."""
    assert TABLES["contractions"] == CONTRACTIONS and len(CONTRACTIONS) == 120
    assert TABLES["number_words"] == MANUAL_MAP and TABLES["articles"] == ARTICLES and TABLES["punctuation"] == PUNCT


@pytest.mark.parametrize("pred, refs, expected", [
    ("Dont", ["don't"] * 3 + ["no"] * 7, 0.9),          # contraction table on the prediction only
    ("the 3", ["3", "three"] + ["4"] * 8, 0.6),          # article dropped, number word mapped
    ("2.", ["2", "two", "2 "] + ["3"] * 7, 0.9),         # "2." -> "2"; whitespace stripped
    ("10.5", ["10.5"] + ["10"] * 9, 0.3),                # the decimal point survives
    ("10.5.", ["10.5", "10.5"] + ["10"] * 8, 0.6),       # only the final period goes
    ("10", ["10.5"] * 4 + ["10"] * 6, 1.0),
    ("an apple", ["apple", "apples", "Apple"] + ["pear"] * 7, 0.6),
    ("1,000", ["1000", "1,000", "one thousand"] + ["2"] * 7, 0.6),
    ("top-left", ["top left", "top - left", "top-left"] + ["left"] * 7, 0.9),
])
def test_accuracy_hand_computed(pred, refs, expected):
    assert vqa_accuracy(pred, refs) == pytest.approx(expected)


def test_vqav2_answer_dicts_and_identity_leave_one_out():
    """VQAv2 answers are records: removing one of three equal answers leaves two (by identity, not value)."""
    refs = ["cat"] * 3 + ["dog"] * 7
    records = [{"answer": a, "answer_confidence": "yes", "answer_id": i + 1} for i, a in enumerate(refs)]
    assert vqa_accuracy("cat", records) == vqa_accuracy("cat", refs) == pytest.approx(0.9)
    m = VQAAccuracy()
    m.update(["Cat."], [records])
    assert m.compute()["accuracy"] == pytest.approx(90.0)


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
    assert vqa_accuracy("two\tdogs", ["two dogs"] * 10) == 1.0 and vqa_accuracy("red\nball", ["red ball"] * 10) == 1.0
    assert vqa_accuracy("two  dogs", ["two dogs"] * 10) == 0.0  # ... but inner runs of spaces only by step 4
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


@pytest.mark.parametrize("rule", ["official", "always-normalise"])
def test_metric_reproduces_official_aggregate_on_tricky_strings(rule):
    """Every tricky string as prediction and as references, both rules: overall and per answer type x100."""
    strings = tricky_strings()
    rng = random.Random(1)
    preds, answers, types = [], [], []
    for i, s in enumerate(strings):
        variants = [s, s.upper(), f"the {s}", f"{s}.", f" {s}\n", rng.choice(strings)]
        refs = [s] * 10 if i % 4 == 0 else [rng.choice(variants) for _ in range(10)]
        preds.append(rng.choice([s, rng.choice(variants), normalize_answer(s)]))
        answers.append(refs)
        types.append(["yes/no", "number", "other"][i % 3])
    m = VQAAccuracy(rule=rule)
    m.update(preds, answers, types)
    want = OfficialVQAEval(always_normalise=rule == "always-normalise").accuracy(preds, answers, types)
    got = m.compute()
    assert got["accuracy"] == pytest.approx(want["overall"], abs=1e-9)
    assert got["accuracy_yes_no"] == pytest.approx(want["yes/no"], abs=1e-9)
    assert got["accuracy_number"] == pytest.approx(want["number"], abs=1e-9)
    assert got["accuracy_other"] == pytest.approx(want["other"], abs=1e-9)
    assert 20 < got["accuracy"] < 100  # neither trivially right nor trivially wrong
