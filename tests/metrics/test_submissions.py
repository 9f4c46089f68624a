"""Submission files: VQAv2 (every id once, padded, normalised) and VizWiz (unanswerable rule)."""

import json

import pytest

from ddit_eval.submissions import vizwiz_answer, vizwiz_submission, vqav2_submission, write_submission


def test_vqav2_covers_every_id_once_padded_and_normalised():
    # "Two" -> "2" (number word); "the dog." -> period dropped, article dropped -> "dog"; ids 2, 4 padded
    rows = vqav2_submission({3: "Two", 1: "the dog."}, [1, 2, 3, 4])
    assert rows == [{"question_id": 1, "answer": "dog"}, {"question_id": 2, "answer": "yes"},
                    {"question_id": 3, "answer": "2"}, {"question_id": 4, "answer": "yes"}]


def test_vqav2_large_id_set_with_repeats_and_string_keys():
    all_ids = list(range(100, 1100)) + [100, 101]  # repeats must not give a second row
    answers = {str(q): "No" for q in range(100, 110)}  # ids read back from JSON come as strings
    rows = vqav2_submission(answers, all_ids, pad="Yes")
    ids = [r["question_id"] for r in rows]
    assert len(rows) == 1000 and len(set(ids)) == 1000 and set(ids) == set(range(100, 1100))
    assert all(isinstance(q, int) for q in ids)
    assert sum(r["answer"] == "no" for r in rows) == 10 and sum(r["answer"] == "yes" for r in rows) == 990


def test_vqav2_answer_for_an_unknown_id_is_an_error():
    with pytest.raises(ValueError, match="not in all_question_ids"):
        vqav2_submission({5: "yes"}, [1, 2, 3])


@pytest.mark.parametrize("text, expected", [
    ("unanswerable", "unanswerable"), ("Unanswerable.", "unanswerable"), ("it is UNANSWERABLE", "unanswerable"),
    ("unanswered", "unanswerable"), ("answer", "answer"), ("red", "red"),
])
def test_vizwiz_answer(text, expected):
    assert vizwiz_answer(text) == expected


def test_vizwiz_submission_shape():
    # "A Red cup" -> lowercase, article dropped -> "red cup"; ".jpg" added to a bare name
    rows = vizwiz_submission({"VizWiz_test_00000000.jpg": "Unanswerable.", "VizWiz_test_00000001": "A Red cup"})
    assert rows == [{"image": "VizWiz_test_00000000.jpg", "answer": "unanswerable"},
                    {"image": "VizWiz_test_00000001.jpg", "answer": "red cup"}]


def test_write_submission_is_json_and_leaves_no_temp_file(tmp_path):
    rows = vqav2_submission({1: "yes"}, [1, 2])
    path = tmp_path / "out" / "vqav2_test.json"
    write_submission(path, rows)
    assert json.loads(path.read_text()) == [{"question_id": 1, "answer": "yes"}, {"question_id": 2, "answer": "yes"}]
    assert [p.name for p in path.parent.iterdir()] == ["vqav2_test.json"]
