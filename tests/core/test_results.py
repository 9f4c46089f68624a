import json

import pytest

from ddit_eval.results import SampleLog, write_json_atomic
from ddit_eval.seeding import sample_seed


def test_torn_last_line_is_dropped_and_cut_from_the_file(tmp_path):
    log = SampleLog(tmp_path / "s.jsonl")
    log.append([{"id": "a"}, {"id": "b"}])
    with open(log.path, "a") as f:
        f.write('{"id": "c", "predic')
    assert [r["id"] for r in log.load()] == ["a", "b"]
    log.append([{"id": "c"}])
    assert [json.loads(x)["id"] for x in log.path.read_text().splitlines()] == ["a", "b", "c"]


def test_complete_but_unterminated_line_is_also_torn(tmp_path):
    # the newline is written last: without it the record may be incomplete, so it is redone
    log = SampleLog(tmp_path / "s.jsonl")
    log.path.write_text('{"id": "a"}\n{"id": "b"}')
    assert [r["id"] for r in log.load()] == ["a"]
    assert log.path.read_text() == '{"id": "a"}\n'


def test_corruption_in_the_middle_is_an_error(tmp_path):
    log = SampleLog(tmp_path / "s.jsonl")
    log.path.write_text('{"id": "a"}\nxx\n{"id": "b"}\n')
    with pytest.raises(ValueError, match="middle"):
        log.load()


def test_atomic_json_write_leaves_no_temp_files(tmp_path):
    write_json_atomic(tmp_path / "r.json", {"x": 1})
    write_json_atomic(tmp_path / "r.json", {"x": 2})
    assert json.loads((tmp_path / "r.json").read_text()) == {"x": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_sample_seed_depends_on_run_seed_task_and_id_only():
    assert sample_seed(0, "t", "a") == sample_seed(0, "t", "a")
    assert len({sample_seed(0, "t", "a"), sample_seed(1, "t", "a"), sample_seed(0, "u", "a"), sample_seed(0, "t", "b")}) == 4
    assert 0 <= sample_seed(5, "t", "a") < 2**63
