"""The HTML report's pieces without a browser: escaping, paging, status flags, references, outcome changes."""

import json
import re

import pytest

from ddit_eval.html_report.compare_samples import BETTER, ERROR_CHANGED, WORSE, change_flags, outcome_metric
from ddit_eval.html_report.datafiles import DatasetWriter
from ddit_eval.html_report.html_text import esc, js_call, script_json
from ddit_eval.html_report.layout import SEARCH_CHARS, files_dir
from ddit_eval.html_report.overview import headline_interval, interval_html
from ddit_eval.html_report.records import display_record, references, search_text
from ddit_eval.html_report.status import EMPTY, ERRORED, UNPARSED, WRONG, correctness_metric, sample_flags
from ddit_eval.schema import TaskSummary


def _call_args(text: str, function: str) -> list:
    """The arguments of `window.<function>(...)` in a data file, read back as JSON."""
    match = re.fullmatch(rf"window\.{function}\((.*)\);\n", text, re.S)
    return json.loads(f"[{match.group(1)}]")


def test_text_is_escaped_for_html_and_for_scripts():
    assert esc("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"
    hostile = 'a</script><script>alert(1)</script>\u2028"'
    text = script_json({"q": hostile})
    assert "</" not in text and "<" not in text and "\u2028" not in text
    assert json.loads(text) == {"q": hostile}  # the escapes are JSON's own: the value reads back unchanged
    assert script_json({"s": float("nan"), "t": [float("inf")]}) == '{"s":null,"t":[null]}'
    assert _call_args(js_call("dditPage", "t", 1, [hostile]), "dditPage") == ["t", 1, [hostile]]


def test_pages_hold_page_size_records_and_the_index_files_cover_all(tmp_path):
    writer = DatasetWriter(tmp_path, "task", page_size=200)
    for i in range(450):
        writer.add({"i": i, "id": f"s{i}"}, WRONG if i % 3 == 0 else 0, f"text {i}")
    (tmp_path / "page-0009.js").write_text("stale")  # from a longer earlier log
    entry = writer.finish([("wrong", WRONG), ("empty", EMPTY)])
    assert entry == {"total": 450, "pages": 3, "pageSize": 200, "counts": {"wrong": 150, "empty": 0}}
    assert sorted(p.name for p in tmp_path.glob("page-*.js")) == ["page-0001.js", "page-0002.js", "page-0003.js"]
    key, number, records = _call_args((tmp_path / "page-0003.js").read_text(), "dditPage")
    assert (key, number, [r["i"] for r in records]) == ("task", 3, list(range(400, 450)))
    _, flags = _call_args((tmp_path / "flags.js").read_text(), "dditFlags")
    assert len(flags) == 450 and flags[:4] == "8008"
    _, texts = _call_args((tmp_path / "search.js").read_text(), "dditSearch")
    assert texts[449] == "text 449"


@pytest.mark.parametrize("record, primary, rule, flags", [
    ({"error": "RuntimeError: boom", "scores": {}}, "accuracy", None, ERRORED),
    ({"prediction": "</s><pad>", "scores": {"accuracy": 0.0}}, "accuracy", None, EMPTY | WRONG),
    ({"prediction": "blue", "scores": {"accuracy": 100.0}}, "accuracy", None, 0),
    ({"prediction": "blue", "scores": {"accuracy": 30.0}}, "accuracy", None, WRONG),  # partial credit is not full marks
    ({"prediction": "noted", "scores": {"accuracy": 100.0}}, "accuracy", "pope", UNPARSED),  # pope took the default yes
    ({"prediction": "No", "scores": {"accuracy": 0.0}}, "accuracy", "pope", WRONG),
    ({"prediction": "maybe", "scores": {"accuracy": 0.0}}, "perception", "mme", UNPARSED | WRONG),  # averages to perception
    ({"prediction": "a red dot", "scores": {"CIDEr": 3.0}}, "CIDEr", None, 0),  # no full mark: never wrong
    ({"prediction": ["a.png", "b.png"], "scores": {"correct_images": 0.5}}, "overall", None, WRONG),
    ({"prediction": [], "scores": {"correct_images": 0.0}}, "overall", None, EMPTY | WRONG),
    ({"prediction": "x", "scores": {"accuracy": 0.0}}, "accuracy", "no-such-rule", WRONG),
])
def test_status_flags(record, primary, rule, flags):
    assert sample_flags(record, primary, rule) == flags


def test_correctness_metric_prefers_the_primary_and_knows_when_there_is_none():
    assert correctness_metric({"accuracy": 1.0}, "accuracy") == "accuracy"
    assert correctness_metric({"correct_images": 1.0}, "overall") == "correct_images"
    assert correctness_metric({"CIDEr": 1.0, "BLEU-1_sentence": 2.0}, "CIDEr") is None


def test_references_count_repeated_answers_and_keep_caption_lists():
    vqa = {"answers": [{"answer": "2"}] * 7 + [{"answer": "two"}] * 2 + [{"answer": "3"}]}
    assert references(vqa) == ["2 ×7", "two ×2", "3"]
    assert references({"answers": ["a", "b"]}) == ["a", "b"]
    assert references({"answer": ["a cat", "a dog"]}) == ["a cat", "a dog"]
    assert references({"answer": "Yes"}) == ["Yes"] and references({}) == []


def test_display_record_and_search_text():
    record = {"id": "q1", "seed": 1, "question": "Is <b>it</b> RED?", "prompt": "Q: Is <b>it</b> RED? A: ",
              "answer": "yes", "category": "color", "prediction": "Yes", "scores": {"accuracy": 100.0}}
    shown = display_record(record, 5, 0, thumb="thumbs/x.jpg")
    assert shown == {"i": 5, "id": "q1", "f": 0, "q": "Is <b>it</b> RED?", "m": {"category": "color"}, "r": ["yes"],
                     "t": "thumbs/x.jpg", "s": {"accuracy": 100.0}, "p": "Yes"}
    assert search_text(record) == "q1 is <b>it</b> red? yes yes"
    failed = display_record({"id": 3, "error": "E: x", "traceback": "T" * 5000}, 0, ERRORED)
    assert failed["e"] == "E: x" and len(failed["tb"]) == 3000 and "p" not in failed
    assert len(search_text({"id": "x", "question": "word " * 200})) == SEARCH_CHARS


def test_outcome_changes_follow_the_metric_direction_and_failures():
    ok, bad = {"prediction": "a", "scores": {"accuracy": 100.0}}, {"prediction": "b", "scores": {"accuracy": 0.0}}
    failed = {"error": "boom"}
    assert change_flags(ok, bad, "accuracy", True, False) == WORSE
    assert change_flags(bad, ok, "accuracy", True, False) == BETTER
    assert change_flags(ok, ok, "accuracy", True, False) == 0
    assert change_flags(ok, failed, "accuracy", True, False) == WORSE | ERROR_CHANGED
    assert change_flags(failed, ok, "accuracy", True, False) == BETTER | ERROR_CHANGED
    assert change_flags(failed, failed, "accuracy", True, False) == 0
    assert change_flags(bad, ok, "accuracy", False, False) == WORSE  # lower is better
    # a corpus-level score moved while the caption stayed the same: not a change of this sample
    same = ({"prediction": "a cat", "scores": {"CIDEr": 80.0}}, {"prediction": "a cat", "scores": {"CIDEr": 95.0}})
    assert change_flags(*same, "CIDEr", True, True) == 0
    assert outcome_metric([{"scores": {"CIDEr": 1.0}}], "CIDEr") == "CIDEr"
    assert outcome_metric([{"error": "x"}, {"scores": {"accuracy": 0.0}}], "perception") == "accuracy"


def test_headline_interval_reads_new_and_old_files():
    summary = TaskSummary(metrics={"accuracy": 50.0}, n=10, primary="accuracy")
    assert headline_interval(summary) is None and interval_html(summary) == "n/a"
    summary = TaskSummary.from_json({"metrics": {"accuracy": 50.0}, "n": 10, "primary": "accuracy",
                                     "intervals": {"accuracy": [40.0, 61.25]}})
    assert headline_interval(summary) == [40.0, 61.25] and interval_html(summary) == "[40, 61.25]"


def test_a_page_keeps_its_files_beside_it(tmp_path):
    assert files_dir(tmp_path / "report.html") == tmp_path / "report_files"
    assert files_dir(tmp_path / "gate.html") == tmp_path / "gate_files"


def test_input_thumbnails_are_shared_per_image_and_scoped_by_data_and_settings(tmp_path):
    from PIL import Image

    from ddit_eval.html_report.thumbs import InputImages

    built = []

    class Task:
        def build_request(self, sample, seed):
            built.append(sample.id)
            return type("Request", (), {"image": Image.new("RGB", (640, 320), "red")})()

    same = InputImages(tmp_path, Task(), scope="data@rev1")
    first = same.of_record({"id": "q1", "seed": 1, "image_id": 7})
    assert first == same.of_record({"id": "q2", "seed": 2, "image_id": 7}) and built == ["q1"]
    with Image.open(tmp_path / first) as thumb:
        assert thumb.size == (160, 80) and thumb.format == "JPEG"
    other = InputImages(tmp_path, Task(), scope="data@rev2").of_record({"id": "q1", "seed": 1, "image_id": 7})
    assert other != first and built == ["q1", "q1"]
