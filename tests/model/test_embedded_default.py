"""The committed tiny model is the default `--model`, measurably better than random weights."""

import dataclasses
import json
from pathlib import Path

import pytest

from ddit_eval.backends import DEFAULT_MODEL
from ddit_eval.cli import main
from ddit_eval.shapes.train_tiny import TrainConfig, train

TASKS = "shapes-vqa,shapes-caption"


def test_default_model_is_the_committed_checkpoint():
    path = Path(DEFAULT_MODEL)
    assert path.name == "tiny-shapes" and (path / "model_index.json").is_file()
    training = json.loads((path / "training.json").read_text())
    assert training["config"] == json.loads(json.dumps(dataclasses.asdict(TrainConfig()))), \
        "the committed checkpoint must be the output of train_tiny's default settings"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The committed model and the same architecture with random weights, on 60 samples per task."""
    root = tmp_path_factory.mktemp("default")
    train(root / "random", TrainConfig(steps=0, vae_steps=0, scenes=16, geneval_copies=0), log=lambda m: None)
    for name, model in (("trained", DEFAULT_MODEL), ("random", str(root / "random"))):
        assert main(["run", "--model", model, "--tasks", TASKS, "--limit", "60", "--batch-size", "32",
                     "--device", "cpu", "--output-dir", str(root / f"run-{name}")]) == 0
    return root


def test_trained_beats_random_significantly(two_runs, capsys):
    capsys.readouterr()
    code = main(["compare", str(two_runs / "run-trained"), str(two_runs / "run-random")])
    out, err = capsys.readouterr()
    assert code == 1, out
    assert "FAIL shapes-vqa.accuracy" in err and "FAIL shapes-caption.CIDEr" in err
    trained = json.loads((two_runs / "run-trained" / "results.json").read_text())["tasks"]
    random = json.loads((two_runs / "run-random" / "results.json").read_text())["tasks"]
    assert random["shapes-vqa"]["metrics"]["accuracy"] < 25  # near chance
    assert trained["shapes-vqa"]["metrics"]["accuracy"] > random["shapes-vqa"]["metrics"]["accuracy"] + 20
