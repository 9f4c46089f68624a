"""POPE and MME against hand-computed values; the three parse rules on awkward answers."""

import pytest

from ddit_eval.errors import UsageError
from ddit_eval.metrics.yesno import MMEScore, PopeMetrics, parse_yes_no


@pytest.mark.parametrize("text, ddit, lmms, exact", [
    ("Yes", "yes", "yes", "yes"),
    ("No", "no", "no", "no"),
    ("no.", "no", "no", "other"),
    ("Yes, there is.", "yes", "yes", "other"),
    ("There is no dog.", "no", "other", "other"),
    ("It is not.", "no", "other", "other"),
    ("Yes. No.", "yes", "yes", "other"),  # D-DiT keeps the text before the first '.'
    ("NO", "yes", "no", "no"),  # D-DiT's word list is case-sensitive: "NO" is not in it
    ("y", "yes", "yes", "other"),
    ("", "yes", "other", "other"),
    ("nothing", "yes", "no", "other"),  # lmms-eval looks for "no" in the first 4 characters
])
def test_parse_rules(text, ddit, lmms, exact):
    assert (parse_yes_no(text, "ddit"), parse_yes_no(text, "lmms_eval"), parse_yes_no(text, "exact")) == (ddit, lmms, exact)


def test_unknown_parse_rule_is_a_usage_error():
    with pytest.raises(UsageError, match="ddit, lmms_eval, exact"):
        PopeMetrics(parse_rule="loose")


def test_pope_all_yes_predictions():
    """4 yes / 4 no references, always 'yes': acc 50, precision 50, recall 100, F1 66.7, yes-ratio 100."""
    m = PopeMetrics()
    m.update(["Yes"] * 8, ["yes"] * 4 + ["no"] * 4, ["random"] * 4 + ["popular"] * 4)
    out = m.compute()
    assert out["accuracy"] == 50 and out["precision"] == 50 and out["recall"] == 100 and out["yes_ratio"] == 100
    assert out["f1"] == pytest.approx(200 / 3)
    assert out["random_accuracy"] == 100 and out["popular_accuracy"] == 0 and out["popular_precision"] == 0
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
    """All 'no': nothing predicted positive -> precision, recall, F1 0, yes-ratio 0, accuracy = share of 'no'."""
    m = PopeMetrics()
    m.update(["No"] * 6, ["yes"] * 2 + ["no"] * 4, ["adversarial"] * 6)
    out = m.compute()
    assert (out["accuracy"], out["precision"], out["recall"], out["f1"], out["yes_ratio"]) == (
        pytest.approx(400 / 6), 0, 0, 0, 0)
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
