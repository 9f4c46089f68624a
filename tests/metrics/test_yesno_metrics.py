"""POPE and MME against hand-computed values; the five parse rules on awkward answers."""

import pytest

from ddit_eval.errors import UsageError
from ddit_eval.metrics.yesno import MMEScore, PopeMetrics, is_unparsed, parse_yes_no


RULES = ("pope", "ddit_vqa", "mme", "lmms_eval_mme", "exact")


# Expected values worked by hand from each official rule:
# pope     : text before first '.', commas dropped, split(" "); "No"/"not"/"no" word -> no, else yes
# ddit_vqa : VQA normalisation (punctuation to space/deleted, periods dropped, lowercase) then pope
# mme      : lowercase; exact yes/no, else "yes" in text[:4], else "no" in text[:4], else other
# lmms_eval_mme: lowercase, strip, drop '.', exact yes/no, y/n, then the first-4-chars test
# exact    : lowercase + strip must be yes/no
@pytest.mark.parametrize("text, expected", [
    ("NO", ("yes", "no", "no", "no", "no")),  # pope's word list is case-sensitive
    ("no!", ("yes", "no", "no", "no", "other")),  # pope word "no!" != "no"; VQA turns "!" into a space
    ("(no)", ("yes", "no", "no", "no", "other")),  # "(no)"[:4] contains "no"
    ("No.", ("no", "no", "no", "no", "other")),  # pope keeps "No" before the '.'
    ("Yes, there is", ("yes", "yes", "yes", "yes", "other")),
    ("not sure", ("no", "no", "no", "no", "other")),  # "not" is a pope no-word; "not "[:4] has "no"
    ("", ("yes", "yes", "other", "other", "other")),  # pope defaults to yes
    (" yes", ("yes", "yes", "yes", "yes", "yes")),  # mme: " yes" != "yes" but " yes"[:4] contains it
    ("yes.", ("yes", "yes", "yes", "yes", "other")),  # mme keeps the period: "yes."[:4] has "yes"
    ("y", ("yes", "yes", "other", "yes", "other")),  # only lmms-eval maps "y"
    ("noted", ("yes", "yes", "no", "no", "other")),  # first-4-chars trap: "note" contains "no"
    ("There is no cat", ("no", "no", "other", "other", "other")),  # "ther" has neither
    ("Yes. No.", ("yes", "no", "yes", "yes", "other")),  # pope cuts at '.'; ddit_vqa drops periods first
])
def test_parse_rules(text, expected):
    assert tuple(parse_yes_no(text, rule) for rule in RULES) == expected


# Unparsed by hand: pope/ddit_vqa words hold no "yes"/"Yes"/"No"/"not"/"no"; others give "other".
@pytest.mark.parametrize("text, expected", [
    ("NO", (True, False, False, False, False)),  # pope reads no word it knows, defaults to yes
    ("(no)", (True, False, False, False, True)),
    ("Yes, there is", (False, False, False, False, True)),
    ("", (True, True, True, True, True)),
    ("y", (True, True, True, False, True)),
    ("noted", (True, True, False, False, True)),  # mme reads "noted" as "no": parsed (wrongly)
    ("There is no cat", (False, False, True, True, True)),
    ("Yes. No.", (False, False, False, False, True)),
])
def test_is_unparsed(text, expected):
    assert tuple(is_unparsed(text, rule) for rule in RULES) == expected


def test_unknown_parse_rule_is_a_one_line_usage_error():
    with pytest.raises(UsageError, match="pope, ddit_vqa, mme, lmms_eval_mme, exact") as err:
        PopeMetrics(parse_rule="loose")
    assert "\n" not in str(err.value)
    with pytest.raises(UsageError, match="'ddit'"):  # the old, wrong name is gone
        parse_yes_no("yes", "ddit")
    with pytest.raises(UsageError):
        is_unparsed("yes", "ddit")


def test_defaults_are_each_benchmarks_own_rule():
    assert PopeMetrics().parse_rule == "pope" and MMEScore().parse_rule == "mme"
    # "NO" is "yes" under POPE's rule: a "no" question answered "NO" counts wrong by default
    m = PopeMetrics()
    m.update(["NO"], ["no"])
    assert m.compute()["accuracy"] == 0
    m = PopeMetrics(parse_rule="ddit_vqa")
    m.update(["NO"], ["no"])
    assert m.compute()["accuracy"] == 100


def test_pope_all_yes_predictions():
    """4 yes / 4 no references, always 'yes': acc 50, precision 50, recall 100, F1 66.7, yes-ratio 100."""
    m = PopeMetrics()
    m.update(["Yes"] * 8, ["yes"] * 4 + ["no"] * 4, ["random"] * 4 + ["popular"] * 4)
    out = m.compute()
    assert out["accuracy"] == 50 and out["precision"] == 50 and out["recall"] == 100 and out["yes_ratio"] == 100
    assert out["f1"] == pytest.approx(200 / 3)
    assert out["random_accuracy"] == 100 and out["popular_accuracy"] == 0 and out["popular_precision"] == 0
    # popular holds no "yes" question: its recall (and F1) is 0/0, undefined
    assert out["popular_recall"] is None and out["popular_f1"] is None and out["random_precision"] == 100
    assert [s["accuracy"] for s in m.per_sample()] == [100] * 4 + [0] * 4


def test_pope_yes_ratio_counts_predictions_not_references():
    m = PopeMetrics()
    m.update(["no", "no", "no", "yes"], ["yes", "yes", "yes", "yes"])
    out = m.compute()
    assert out["yes_ratio"] == 25 and out["accuracy"] == 25 and out["precision"] == 100 and out["recall"] == 25


def test_mme_pair_with_one_wrong_answer():
    """Category with 2 images: one fully right, one half right -> acc 75, acc+ 50, score 125."""
    m = MMEScore()
    m.update(["Yes", "No", "Yes", "Yes", "No", "No"], ["Yes", "No", "Yes", "No", "No", "No"],
             ["existence", "existence", "existence", "existence", "code_reasoning", "code_reasoning"],
             ["a", "a", "b", "b", "c", "c"])
    out = m.compute()
    assert (out["existence_acc"], out["existence_acc_plus"], out["existence_score"]) == (75, 50, 125)
    assert out["perception"] == 125 and out["cognition"] == 200
    assert out["perception_categories_scored"] == 1 and out["accuracy"] == pytest.approx(500 / 6)


def test_lmms_eval_aliases_name_the_two_lmms_eval_parsers():
    for text in ("Yes.", "nope", "No, never", "y", "maybe", " NO "):
        assert parse_yes_no(text, "lmms_eval_pope") == parse_yes_no(text, "exact")
        assert parse_yes_no(text, "lmms_eval_mme") == parse_yes_no(text, "lmms_eval")


def test_pope_all_no_and_unparsed_answers():
    """All 'no': tp = fp = 0 -> precision 0/0 and F1 undefined (None); recall 0/2 = 0, yes-ratio 0, accuracy 4/6."""
    m = PopeMetrics()
    m.update(["No"] * 6, ["yes"] * 2 + ["no"] * 4, ["adversarial"] * 6)
    out = m.compute()
    assert (out["accuracy"], out["precision"], out["recall"], out["f1"], out["yes_ratio"]) == (
        pytest.approx(400 / 6), None, 0, None, 0)
    assert out["adversarial_accuracy"] == out["accuracy"]
    # exact rule: "Yes." is 'other' -- wrong, not a 'yes' prediction: a false negative on a 'yes' question
    m = PopeMetrics(parse_rule="exact")
    m.update(["Yes.", "yes", "yes", "no"], ["yes", "yes", "no", "no"])
    out = m.compute()
    assert out["accuracy"] == 50 and out["precision"] == 50 and out["recall"] == 50 and out["yes_ratio"] == 50


def test_pope_splits_are_scored_separately_and_together():
    m = PopeMetrics()
    m.update(["yes", "no", "yes", "yes", "no", "no"], ["yes", "no", "no", "yes", "yes", "no"],
             ["random", "random", "popular", "popular", "adversarial", "adversarial"])
    out = m.compute()
    assert out["random_accuracy"] == 100 and out["popular_precision"] == 50 and out["adversarial_recall"] == 0
    assert out["accuracy"] == pytest.approx(400 / 6) and out["yes_ratio"] == 50
    assert out["precision"] == pytest.approx(200 / 3) and out["recall"] == pytest.approx(200 / 3)
    assert out["f1"] == pytest.approx(200 / 3)


def test_mme_scores_all_official_categories():
    """Perfect answers on every official category: perception 2000, cognition 800; an unparsable answer is wrong."""
    from ddit_eval.metrics.yesno import COGNITION, PERCEPTION

    assert len(PERCEPTION) == 10 and len(COGNITION) == 4 and "OCR" in PERCEPTION
    cats = [c for c in PERCEPTION + COGNITION for _ in range(2)]
    m = MMEScore()
    m.update(["Yes", "No"] * 14, ["Yes", "No"] * 14, cats, [f"{c}/0001.png" for c in cats])
    out = m.compute()
    assert out["perception"] == 2000 and out["cognition"] == 800
    m = MMEScore(parse_rule="lmms_eval")
    m.update(["maybe", "No"], ["Yes", "No"], ["OCR", "OCR"], ["OCR/1.png", "OCR/1.png"])
    out = m.compute()
    assert (out["OCR_acc"], out["OCR_acc_plus"], out["perception"]) == (50, 0, 50)


def test_mme_official_rule_on_two_categories():
    """MME's own parser on 2 categories, 2 images each (4 questions per category).

    existence: img1 ("Yes", "noted") vs (Yes, No) -> right, right ("note" has "no")
               img2 ("yes.", "y")    vs (Yes, No) -> right, wrong ("y" is other)
               acc = 3/4 = 75, acc+ = 1/2 = 50, score 125
    color:     img3 (" no", "Yes")   vs (No, Yes) -> right (" no"[:4] has "no"), right
               img4 ("", "There is no") vs (No, No) -> other, other: both wrong
               acc = 2/4 = 50, acc+ = 1/2 = 50, score 100
    perception = 125 + 100 = 225 over 2 categories; accuracy = 5/8 = 62.5
    """
    m = MMEScore()
    m.update(["Yes", "noted", "yes.", "y", " no", "Yes", "", "There is no"],
             ["Yes", "No", "Yes", "No", "No", "Yes", "No", "No"],
             ["existence"] * 4 + ["color"] * 4, ["e1", "e1", "e2", "e2", "c3", "c3", "c4", "c4"])
    out = m.compute()
    assert (out["existence_acc"], out["existence_acc_plus"], out["existence_score"]) == (75, 50, 125)
    assert (out["color_acc"], out["color_acc_plus"], out["color_score"]) == (50, 50, 100)
    assert out["perception"] == 225 and out["perception_categories_scored"] == 2 and out["accuracy"] == 62.5
    assert out["cognition"] is None and out["cognition_categories_scored"] == 0
    # lmms-eval's MME parser reads "y" as yes -> existence img2 fully right: acc 100, acc+ 100
    m = MMEScore(parse_rule="lmms_eval_mme")
    m.update(["Yes", "noted", "yes.", "n"], ["Yes", "No", "Yes", "No"], ["existence"] * 4, ["e1", "e1", "e2", "e2"])
    assert m.compute()["existence_score"] == 200


def test_pope_precision_and_f1_are_undefined_when_no_yes_is_predicted():
    """Under POPE's rule, "No." and "not sure" are "no": tp = fp = 0 -> precision 0/0 is undefined, not 0.

    recall = tp / (tp + fn) = 0/1 = 0 is measured; F1 needs precision, so it is undefined too.
    """
    m = PopeMetrics()
    m.update(["No.", "not sure", "no"], ["yes", "no", "no"], ["random"] * 3)
    out = m.compute()
    assert out["precision"] is None and out["f1"] is None and out["random_precision"] is None
    assert out["recall"] == 0 and out["yes_ratio"] == 0 and out["accuracy"] == pytest.approx(200 / 3)
    assert m.notes() == ["precision undefined: no 'yes' answers (F1 too)",
                         "random_precision undefined: no 'yes' answers (F1 too)"]


def test_pope_recall_is_undefined_without_yes_questions():
    """2 'no' questions, answers yes/no: tp = 0, fp = 1 -> precision 0/1 = 0; tp + fn = 0 -> recall, F1 undefined."""
    m = PopeMetrics()
    m.update(["yes", "no"], ["no", "no"])
    out = m.compute()
    assert (out["accuracy"], out["precision"], out["recall"], out["f1"], out["yes_ratio"]) == (50, 0, None, None, 50)
    assert m.notes() == ["recall undefined: no 'yes' questions (F1 too)"]


def test_binary_scores_of_nothing_are_all_undefined():
    """0 answers: accuracy and yes-ratio are 0/0 as well."""
    from ddit_eval.metrics.yesno import binary_scores

    assert binary_scores([], []) == {k: None for k in ("accuracy", "precision", "recall", "f1", "yes_ratio")}


def test_mme_group_without_a_scored_category_is_undefined():
    """Only perception categories: cognition sums 0 categories -> undefined (None), with a note, not 0.

    existence e1 (Yes, No) right/right -> 100 + 100 = 200; perception 200 over 1 category.
    """
    m = MMEScore()
    m.update(["Yes", "No"], ["Yes", "No"], ["existence"] * 2, ["e1", "e1"])
    out = m.compute()
    assert out["perception"] == 200 and out["cognition"] is None and out["cognition_categories_scored"] == 0
    assert m.notes() == ["cognition undefined: no cognition category scored"]
    m = MMEScore()
    m.update(["Yes", "Yes"], ["Yes", "No"], ["code_reasoning"] * 2, ["c1", "c1"])
    out = m.compute()
    assert out["perception"] is None and out["cognition"] == 50  # acc 50 + acc+ 0
    assert m.notes() == ["perception undefined: no perception category scored"]
