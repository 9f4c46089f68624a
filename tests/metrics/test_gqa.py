"""GQA exact match under the three named rules, and the official extras on hand-built rows."""

import pytest

from ddit_eval.errors import UsageError
from ddit_eval.metrics.gqa import GQAAccuracy, gqa_match, steps_number

RULES = ("llava", "official", "lmms_eval")


# By hand:  llava = strip, rstrip('.'), lowercase, then ==;  official = raw ==;
#           lmms_eval = lowercase, delete string.punctuation, strip, collapse spaces (both sides), then ==.
@pytest.mark.parametrize("prediction, answer, expected", [
    ("yes", "yes", (True, True, True)),
    ("Yes.", "yes", (True, False, True)),
    ("left.", "left", (True, False, True)),
    (" Left ", "left", (True, False, True)),
    ("left..", "left", (True, False, True)),  # LLaVA's rstrip('.') drops every trailing period
    ("yes .", "yes", (False, False, True)),  # llava: "yes ." -> "yes " (space kept) != "yes"
    ("tshirt", "t-shirt", (False, False, True)),  # lmms_eval deletes '-' from the answer too
    ("t shirt", "t-shirt", (False, False, False)),  # ... so "t shirt" != "tshirt"
    ("Yes, it is", "yes", (False, False, False)),
    ("on the left", "left", (False, False, False)),
])
def test_rules(prediction, answer, expected):
    assert tuple(gqa_match(prediction, answer, rule) for rule in RULES) == expected


def test_unknown_rule_is_a_usage_error():
    with pytest.raises(UsageError, match="llava, official, lmms_eval"):
        GQAAccuracy(rule="loose")


def test_steps_number_skips_the_final_querying_steps():
    # "exist: ?", "query: name" and "choose name: x|y" do not count; "query: color" does
    steps = [{"operation": "select", "argument": "cat"}, {"operation": "exist", "argument": "?"},
             {"operation": "query", "argument": "name"}, {"operation": "choose name", "argument": "a|b"},
             {"operation": "query", "argument": "color"}]
    assert steps_number(steps) == 2 and steps_number([]) == 0


def _step(operation, argument):
    return {"operation": operation, "argument": argument}


# Six questions: (prediction, answer, extras).  Steps by eval.py's count in the comments.
ROWS = [
    ("yes", "yes", {"id": "1", "types": {"structural": "verify", "semantic": "attr"}, "groups": {"global": "g2"},
                    "semantic": [_step("select", "cat"), _step("verify color", "white")],  # 2 steps
                    "entailed": ["9"], "question": "Is the cat white?"}),
    ("no", "yes", {"id": "2", "types": {"structural": "logical", "semantic": "obj"}, "groups": {"global": "g1"},
                   "semantic": [_step("select", "dog"), _step("exist", "?")],  # 1 step
                   "entailed": ["1"], "question": "Is there a dog?"}),
    ("left", "left", {"id": "3", "types": {"structural": "query", "semantic": "rel"}, "groups": {"global": "g1"},
                      "semantic": [_step("select", "table"), _step("relate", "cup,on,s"),
                                   _step("query", "name")],  # 2 steps
                      "entailed": ["3", "4"]}),
    ("red", "blue", {"id": "4", "types": {"structural": "query", "semantic": "attr"}, "groups": {"global": "g1"},
                     "semantic": [_step("select", "car"), _step("query", "color")],  # 2 steps
                     "entailed": []}),
    ("the cat", "cat", {"id": "5", "types": {"structural": "choose", "semantic": "cat"}, "groups": {"global": "g2"},
                        "semantic": [_step("select", "animal"), _step("choose name", "cat|dog")],  # 1 step
                        "entailed": ["1", "2"]}),
    ("Yes", "yes", {"id": "6", "types": {"structural": "compare", "semantic": "obj"}, "groups": {"global": "g2"},
                    "semantic": [_step("select", "a"), _step("select", "b"), _step("same", "color")],  # 3 steps
                    "entailed": ["1", "3"]}),
]


def _metric(rule="llava"):
    m = GQAAccuracy(rule=rule)
    m.update([r[0] for r in ROWS], [r[1] for r in ROWS], [r[2] for r in ROWS])
    return m


def test_extras_by_hand():
    """llava rule: right = q1, q3, q6 (q6 "Yes" lowercased) -> accuracy 3/6 = 50.

    binary (structural != query) = q1 q2 q5 q6 = T F F T -> 50; open = q3 q4 = T F -> 50.
    semantic attr = q1 q4 = T F -> 50; obj = q2 q6 -> 50; rel = q3 -> 100; cat = q5 -> 0.
    steps 1 = q2 q5 -> 0; 2 = q1 q3 q4 -> 2/3; 3 = q6 -> 100 (len(semantic) would put q3 at 3).
    words (only q1, q2 have a question; 4 words each) -> 50.
    consistency: correct q1 has entailed "9" outside the set -> skipped; q3 -> {q4} wrong -> 0;
      q6 -> {q1, q3} both right -> 1; wrong q2, q5 ignored -> mean(0, 1) = 50.
    distribution: g1 = q2 q3 q4, gold {yes, left, blue}, predicted {no, left, red}:
      yes (0-1)^2/1 + left 0 + blue (0-1)^2/1 = 2, weight 3;
      g2 = q1 q5 q6, gold {yes: 2, cat: 1}, predicted {yes: 2, "the cat": 1}: cat 1, yes 0 -> 1, weight 3;
      (2*3 + 1*3) / 6 = 1.5, / 100 = 0.015.
    """
    out = _metric().compute()
    assert out["accuracy"] == 50 and out["accuracy_binary"] == 50 and out["accuracy_open"] == 50
    assert {k: v for k, v in out.items() if k.startswith("accuracy_structural_")} == {
        "accuracy_structural_verify": 100, "accuracy_structural_logical": 0, "accuracy_structural_query": 50,
        "accuracy_structural_choose": 0, "accuracy_structural_compare": 100}
    assert {k: v for k, v in out.items() if k.startswith("accuracy_semantic_")} == {
        "accuracy_semantic_attr": 50, "accuracy_semantic_obj": 50, "accuracy_semantic_rel": 100,
        "accuracy_semantic_cat": 0}
    assert out["accuracy_steps_1"] == 0 and out["accuracy_steps_2"] == pytest.approx(200 / 3)
    assert out["accuracy_steps_3"] == 100 and "accuracy_steps_0" not in out
    assert out["accuracy_words_4"] == 50
    assert out["consistency"] == 50
    assert out["distribution"] == pytest.approx(0.015)
    assert "validity" not in out and "plausibility" not in out


def test_official_rule_on_the_same_rows():
    """Raw match: q6 "Yes" != "yes" now -> right = q1, q3 -> 2/6.

    consistency: q3 -> {q4} 0; q6 no longer right -> mean(0) = 0.
    distribution g2: predicted yes 1 of gold 2 -> (1-2)^2/2 = 0.5, plus cat 1 -> 1.5; g1 still 2;
      (2*3 + 1.5*3) / 6 = 1.75 -> 0.0175.
    """
    out = _metric("official").compute()
    assert out["accuracy"] == pytest.approx(100 / 3) and out["accuracy_structural_compare"] == 0
    assert out["consistency"] == 0 and out["distribution"] == pytest.approx(0.0175)
    assert [s["accuracy"] for s in _metric("official").per_sample()] == [100, 0, 100, 0, 0, 0]


def test_no_extras_means_accuracy_only():
    m = GQAAccuracy()
    m.update(["Left.", "no", "Table"], ["left", "yes", "table"])
    assert m.compute() == {"accuracy": pytest.approx(200 / 3)}
    assert m.per_sample() == [{"accuracy": 100}, {"accuracy": 0}, {"accuracy": 100}]
    assert m.config()["extras"] == [] and m.config()["rule"] == "llava"
    assert set(m.config()["not_computed"]) == {"validity", "plausibility"}


def test_config_names_the_extras_computed_and_rows_without_fields_are_skipped():
    assert _metric().config()["extras"] == [
        "binary_open", "consistency", "distribution", "semantic_type", "steps", "structural_type", "words"]
    m = GQAAccuracy()
    # only the first row has types: binary/open over that row alone; the second counts for accuracy only
    m.update(["yes", "no"], ["yes", "yes"], [{"types": {"structural": "verify", "semantic": "attr"}}, {}])
    out = m.compute()
    assert out["accuracy"] == 50 and out["accuracy_binary"] == 100 and "accuracy_open" not in out
    assert m.config()["extras"] == ["binary_open", "semantic_type", "structural_type"]


def test_update_accumulates_and_reset_clears():
    m = GQAAccuracy(rule="lmms_eval")
    m.update(["T-Shirt"], ["t-shirt"])
    m.update(["shirt"], ["t-shirt"])
    assert m.compute() == {"accuracy": 50}
    m.reset()
    with pytest.raises(ValueError):
        m.compute()
    with pytest.raises(ValueError, match="different lengths"):
        m.update(["a", "b"], ["a"])


def test_consistency_without_an_entailed_question_inside_is_undefined():
    """q1 right but its entailed q9 was not evaluated; q2 wrong: nothing to average -> None with a note, not absent.

    accuracy 1/2 = 50; rows without an `entailed` field leave consistency out (not computed).
    """
    m = GQAAccuracy()
    m.update(["yes", "no"], ["yes", "yes"], [{"id": "1", "entailed": ["9"]}, {"id": "2", "entailed": ["1"]}])
    out = m.compute()
    assert out == {"accuracy": 50, "consistency": None}
    assert m.notes() == ["consistency undefined: no correctly answered question has an entailed question "
                         "among the evaluated ones"]
    assert "consistency" not in m.config()["extras"]
    m = GQAAccuracy()
    m.update(["yes"], ["yes"], [{"id": "1"}])
    assert "consistency" not in m.compute() and m.notes() == []
