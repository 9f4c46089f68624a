"""ddit-eval's VQA, POPE and MME scorers against lmms-eval 0.7.3's own scoring functions, on the same predictions.

Where the rules differ by design, the test says how and checks the difference itself.
"""

import copy
import importlib

import pytest

from ddit_eval.metrics.vqa import vqa_accuracy
from ddit_eval.metrics.yesno import MMEScore, PopeMetrics, parse_yes_no

pytest.importorskip("lmms_eval")


def _lmms_utils(task):
    """lmms-eval's scoring module of a task, imported when a test runs (see conftest.py)."""
    return importlib.import_module(f"lmms_eval.tasks.{task}.utils")

# (prediction, 10 human answers): normalisation, periods, number words, articles, contractions, punctuation
VQA_CASES = [
    ("Two", ["2"] * 3 + ["two"] * 2 + ["3"] * 5),
    ("two", ["2"] * 10),
    ("2.", ["2"] * 4 + ["3"] * 6),
    ("10.5", ["10.5"] * 2 + ["10"] * 8),
    ("a dog", ["dog"] * 9 + ["cat"]),
    ("dont know", ["don't know"] * 3 + ["no"] * 7),
    ("red, white", ["red white"] * 5 + ["red"] * 5),
    ("1,000", ["1000"] * 6 + ["100"] * 4),
    ("  yes\n", ["yes"] * 8 + ["no"] * 2),
    ("left/right", ["left right"] * 3 + ["left"] * 7),
    ("nothing", ["yes"] * 10),
]


def _vqav2_doc(answers):
    return {"question_id": 1, "answers": [{"answer": a, "answer_confidence": "yes", "answer_id": i + 1} for i, a in enumerate(answers)]}


@pytest.mark.parametrize("prediction, answers", VQA_CASES)
def test_vqav2_accuracy_equals_lmms_eval_with_always_normalise(prediction, answers):
    """lmms-eval normalises every answer, as our `always-normalise` rule does (`official` only when references differ)."""
    theirs = _lmms_utils("vqav2").vqav2_process_results(_vqav2_doc(answers), [prediction])["exact_match"]
    assert vqa_accuracy(prediction, _vqav2_doc(answers)["answers"], rule="always-normalise") == pytest.approx(theirs)


def test_vqav2_official_rule_differs_where_all_references_agree():
    """The official script skips normalisation when the 10 answers are identical: "two" scores 0 there, 1 in lmms-eval."""
    answers = ["2"] * 10
    assert _lmms_utils("vqav2").vqav2_process_results(_vqav2_doc(answers), ["two"])["exact_match"] == 1.0
    assert vqa_accuracy("two", answers, rule="official") == 0.0


@pytest.mark.parametrize("prediction, answers", [c for c in VQA_CASES if "?" not in c[0]])
def test_okvqa_accuracy_equals_lmms_eval(prediction, answers):
    theirs = _lmms_utils("ok_vqa").ok_vqa_process_results({"question_id": 1, "answers": list(answers)}, [prediction])["exact_match"]
    assert vqa_accuracy(prediction, answers, rule="always-normalise") == pytest.approx(theirs)


def test_okvqa_lmms_eval_deletes_question_marks_first():
    """lmms-eval's OK-VQA deletes '?' (and ',') before the punctuation rule; the official rule makes a lone '?' a space."""
    answers = ["x y"] * 10
    assert _lmms_utils("ok_vqa").ok_vqa_process_results({"question_id": 1, "answers": list(answers)}, ["x?y"])["exact_match"] == 0.0
    assert vqa_accuracy("x?y", answers, rule="always-normalise") == 1.0


# POPE: the same predictions, scored by lmms-eval's aggregations and by ours with its `exact` rule
POPE_PREDICTIONS = ["yes", "No", " yes ", "no", "no", "yes", "Yes", "no"]
POPE_ANSWERS = ["yes", "no", "yes", "yes", "no", "no", "yes", "no"]


def _lmms_pope(predictions, answers):
    items = [_lmms_utils("pope").pope_process_results({"question_id": i, "answer": a}, [p])["pope_accuracy"]
             for i, (p, a) in enumerate(zip(predictions, answers))]
    return {name: 100 * getattr(_lmms_utils("pope"), f"pope_aggregate_{agg}")(items)
            for name, agg in (("accuracy", "accuracy"), ("precision", "precision"), ("recall", "recall"),
                              ("f1", "f1_score"), ("yes_ratio", "yes_ratio"))}


def _ours_pope(predictions, answers):
    metric = PopeMetrics(parse_rule="exact")
    metric.update(predictions, answers)
    return metric.compute()


def test_pope_accuracy_precision_recall_f1_equal_lmms_eval_with_exact_rule():
    theirs, ours = _lmms_pope(POPE_PREDICTIONS, POPE_ANSWERS), _ours_pope(POPE_PREDICTIONS, POPE_ANSWERS)
    for name in ("accuracy", "precision", "recall", "f1"):
        assert ours[name] == pytest.approx(theirs[name]), name


def test_pope_yes_ratio_counts_predictions_not_ground_truth():
    """POPE defines yes-ratio over the model's answers; lmms-eval 0.7.3 counts the reference answers."""
    theirs, ours = _lmms_pope(POPE_PREDICTIONS, POPE_ANSWERS), _ours_pope(POPE_PREDICTIONS, POPE_ANSWERS)
    assert theirs["yes_ratio"] == 100 * POPE_ANSWERS.count("yes") / 8 == 50.0
    assert ours["yes_ratio"] == 100 * 4 / 8  # "yes", " yes ", "Yes" and "yes" read as yes


def test_pope_recall_counts_unreadable_answers_on_yes_questions():
    """An answer that is neither yes nor no is a false negative for us; lmms-eval leaves it out of recall."""
    predictions, answers = ["yes", "maybe", "no"], ["yes", "yes", "no"]
    assert _lmms_pope(predictions, answers)["recall"] == 100.0
    assert _ours_pope(predictions, answers)["recall"] == 50.0
    assert _lmms_pope(predictions, answers)["accuracy"] == pytest.approx(_ours_pope(predictions, answers)["accuracy"])


# MME: two questions per image; lmms-eval's parser is our `lmms_eval_mme` rule
MME_TEXTS = ["Yes", "no.", "YES, it is", "n", "y", "Nope", "  no", "maybe", "", "No, there is not", "yes."]


@pytest.mark.parametrize("text", MME_TEXTS)
def test_mme_parse_equals_lmms_eval(text):
    assert parse_yes_no(text, "lmms_eval_mme") == _lmms_utils("mme").parse_pred_ans(text)


def test_mme_default_rule_differs_on_single_letters():
    """MME's own calculation.py (our default `mme`) does not read "y"/"n"; lmms-eval's parser does."""
    assert (_lmms_utils("mme").parse_pred_ans("y"), parse_yes_no("y", "mme")) == ("yes", "other")


def test_mme_scores_equal_lmms_eval():
    rows = [("1.png", "existence", "yes", "Yes"), ("1.png", "existence", "no", "no"),
            ("2.png", "existence", "yes", "no"), ("2.png", "existence", "no", "no"),
            ("3.png", "count", "yes", "y"), ("3.png", "count", "no", "yes"),
            ("4.png", "code_reasoning", "yes", "Yes."), ("4.png", "code_reasoning", "no", "N")]
    items = {"perception": [], "cognition": []}
    for image, category, answer, prediction in rows:
        result = _lmms_utils("mme").mme_process_results({"question_id": image, "category": category, "answer": answer}, [prediction])
        for key, value in result.items():
            items["perception" if key == "mme_perception_score" else "cognition"].append(copy.deepcopy(value))
    metric = MMEScore(parse_rule="lmms_eval_mme")
    metric.update([r[3] for r in rows], [r[2] for r in rows], [r[1] for r in rows], [r[0] for r in rows])
    ours = metric.compute()
    # existence: image 1 both right (100 + 100), image 2 one of two (50 + 0): 125; count: 50 + 0
    assert ours["perception"] == pytest.approx(_lmms_utils("mme").mme_aggregate_results(items["perception"])) == 125 + 50
    assert ours["cognition"] == pytest.approx(_lmms_utils("mme").mme_aggregate_results(items["cognition"])) == 200
