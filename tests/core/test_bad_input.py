"""Bad input: one line naming the problem, exit status 2, no traceback (unless --debug)."""

import pytest

from helpers.harness import run_subprocess


def _one_line_error(code, err):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_unknown_task_suggests_close_names(cli):
    line = _one_line_error(*cli("run", "--tasks", "toy-colours", "--model", "double:pixel")[::2])
    assert "unknown task 'toy-colours'" in line and "did you mean toy-colors" in line


def test_unknown_set_key(cli):
    line = _one_line_error(*cli("run", "--tasks", "toy-colors", "--model", "double:pixel", "--set", "stepz=3")[::2])
    assert "unknown --set key 'stepz'" in line and "steps" in line


def test_set_value_of_wrong_type(cli):
    line = _one_line_error(*cli("run", "--tasks", "toy-colors", "--model", "double:pixel", "--set", "steps=many")[::2])
    assert "expected int" in line


def test_missing_model_path(cli, tmp_path):
    line = _one_line_error(*cli("run", "--tasks", "toy-colors", "--model", tmp_path / "no-such-ckpt")[::2])
    assert "no such file or directory" in line and "no-such-ckpt" in line


@pytest.mark.parametrize("limit", ["0", "-3", "x"])
def test_limit_must_be_positive(cli, limit):
    line = _one_line_error(*cli("run", "--tasks", "toy-colors", "--model", "double:pixel", "--limit", limit)[::2])
    assert "--limit" in line


def test_output_dir_not_writable(cli, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    line = _one_line_error(*cli("run", "--tasks", "toy-colors", "--model", "double:pixel", "--output-dir", blocker / "run")[::2])
    assert "not writable" in line


def test_unreadable_predictions_file(cli, tmp_path):
    line = _one_line_error(*cli("score", "--task", "toy-colors", "--predictions", tmp_path / "missing.jsonl")[::2])
    assert "missing.jsonl" in line
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "c0000", "prediction": "red"}\n{oops\n')
    line = _one_line_error(*cli("score", "--task", "toy-colors", "--predictions", bad)[::2])
    assert "bad.jsonl:2" in line


def test_unknown_command_option(cli):
    _one_line_error(*cli("run", "--no-such-flag")[::2])


def test_debug_shows_the_traceback_and_real_cli_exit_status(tmp_path):
    proc = run_subprocess("--debug", "run", "--tasks", "nope", "--model", "double:pixel", "--output-dir", tmp_path)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "Traceback" in err and err.strip().splitlines()[-1].startswith("error: unknown task")


def test_help_documents_every_command(capsys):
    from ddit_eval.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("run", "list-tasks", "score", "report", "compare"):
        assert command in out


def _blocked(tmp_path):
    """A path under a plain file: no one, not even root, can create it."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    return blocker / "out"


def test_score_output_dir_not_writable(cli, tmp_path):
    preds = tmp_path / "preds.jsonl"
    preds.write_text('{"id": "c0000", "prediction": "black"}\n')
    line = _one_line_error(*cli("score", "--task", "toy-colors", "--predictions", preds, "--output-dir", _blocked(tmp_path))[::2])
    assert "not writable" in line


def test_report_output_not_writable(cli, tmp_path):
    run = tmp_path / "run"
    assert cli("run", "--tasks", "toy-colors", "--model", "double:pixel", "--set", "num_samples=3", "--output-dir", run)[0] == 0
    line = _one_line_error(*cli("report", run, "--output", _blocked(tmp_path) / "cmp")[::2])
    assert "not writable" in line


def test_predictions_without_id_or_with_a_repeated_id(cli, tmp_path):
    preds = tmp_path / "preds.jsonl"
    preds.write_text('{"id": "c0000", "prediction": "black"}\n{"prediction": "red"}\n')
    line = _one_line_error(*cli("score", "--task", "toy-colors", "--predictions", preds)[::2])
    assert "record 2 has no 'id'" in line
    preds.write_text('{"id": "c0000", "prediction": "black"}\n{"id": "c0000", "prediction": "red"}\n')
    line = _one_line_error(*cli("score", "--task", "toy-colors", "--predictions", preds)[::2])
    assert "'c0000' appears twice" in line


def test_compare_unreadable_run_files(cli, tmp_path):
    for name in ("a", "b"):
        assert cli("run", "--tasks", "toy-colors", "--model", "double:pixel", "--set", "num_samples=3",
                   "--output-dir", tmp_path / name)[0] == 0
    log = tmp_path / "b/samples/toy-colors.jsonl"
    log.write_text("{torn\n" + log.read_text())
    line = _one_line_error(*cli("compare", tmp_path / "a", tmp_path / "b")[::2])
    assert "toy-colors.jsonl" in line and ":1:" in line
    (tmp_path / "b/results.json").write_text("{not json")
    line = _one_line_error(*cli("compare", tmp_path / "a", tmp_path / "b")[::2])
    assert "results.json" in line
    # report skips a run whose results.json is corrupt with a warning, as it skips one that has none (issue 20)
    code, _, err = cli("report", tmp_path / "a", tmp_path / "b", "--output", tmp_path / "cmp")
    assert code == 0 and err.startswith("warning: skipping") and "results.json" in err and err.count("\n") == 1
    assert "| a " in (tmp_path / "cmp.md").read_text()


def test_corrupt_run_record_in_output_dir(cli, tmp_path):
    (tmp_path / "run.json").write_text("{")
    line = _one_line_error(*cli("run", "--tasks", "toy-colors", "--model", "double:pixel", "--output-dir", tmp_path)[::2])
    assert "run.json" in line and "--overwrite" in line
