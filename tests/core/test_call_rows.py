"""`--call-rows`: the fixed shape of every network call is the user's to choose, and part of the run's identity."""

import json

from ddit_eval.backends import DEFAULT_MODEL
from ddit_eval.cli import main

RUN = ["run", "--tasks", "shapes-vqa", "--model", DEFAULT_MODEL, "--limit", "3", "--batch-size", "3"]


def test_call_rows_reaches_the_model_and_the_fingerprint(tmp_path, capsys):
    assert main([*RUN, "--call-rows", "2", "--output-dir", str(tmp_path / "run")]) == 0
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["config"]["model_config"]["defaults"]["call_rows"] == 2
    assert json.loads((tmp_path / "run" / "run.json").read_text())["call_rows"] == 2
    capsys.readouterr()
    assert main([*RUN, "--call-rows", "4", "--output-dir", str(tmp_path / "run")]) == 2  # not the same run
    assert "call_rows" in capsys.readouterr().err


def test_call_rows_is_refused_for_a_test_double(tmp_path, capsys):
    code = main(["run", "--tasks", "shapes-vqa", "--model", "double:pixel", "--call-rows", "2", "--limit", "2",
                 "--output-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == "error: --call-rows applies to D-DiT checkpoints, not to test doubles"
