"""results.json as the schema writes and reads it: one version number, old files migrated, newer ones refused."""

import json

import pytest

from ddit_eval.api import Evaluation
from ddit_eval.errors import UsageError
from ddit_eval.image_metrics import FidelityScores
from ddit_eval.metrics.answers import AnswerHealth
from ddit_eval.metrics.gqa import GQAAccuracy
from ddit_eval.schema import SCHEMA_VERSION, RunResults, TaskSummary


def test_a_run_file_round_trips_with_its_version_and_a_task_block_of_its_own(tmp_path):
    summary = TaskSummary(metrics={"fid": 12.5, "is_mean": 3.0}, n=4, primary="fid", lower_is_better=["fid"],
                          extra={"probe": {"encoders": ["clip"]}})
    RunResults(config={"seed": 1}, tasks={"coco-fid": summary}, plots={"coco-fid": ["a.png"]}).write(tmp_path / "results.json")
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["schema_version"] == SCHEMA_VERSION == 2
    assert data["tasks"]["coco-fid"]["probe"] == {"encoders": ["clip"]} and "higher_is_better" not in data["tasks"]["coco-fid"]
    assert "outputs" not in data and data["plots"] == {"coco-fid": ["a.png"]}  # empty extras are not written
    again = RunResults.read(tmp_path)
    assert again == RunResults(config={"seed": 1}, tasks={"coco-fid": summary}, plots={"coco-fid": ["a.png"]})
    assert again.tasks["coco-fid"].higher_is_better("is_mean") and not again.tasks["coco-fid"].higher_is_better("fid")


def test_a_version_1_file_keeps_its_primary_direction():
    """Version 1 wrote `higher_is_better: false` for coco-fid's primary with an empty per-metric list."""
    v1 = {"tasks": {"coco-fid": {"metrics": {"fid": 9.0, "clip_score": 30.0}, "primary": "fid", "n": 3,
                                 "higher_is_better": False, "lower_is_better": []},
                    "vqav2": {"metrics": {"accuracy": 50.0}, "primary": "accuracy", "n": 3, "higher_is_better": True}},
          "config": {}}
    results = RunResults.from_json(v1)
    assert results.tasks["coco-fid"].lower_is_better == ["fid"] and results.tasks["vqav2"].lower_is_better == []
    assert "higher_is_better" not in results.tasks["coco-fid"].extra  # migrated, not carried along


def test_newer_and_malformed_files_are_one_line_errors(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1, "tasks": {}}))
    with pytest.raises(UsageError, match="schema version 3 is newer than this ddit-eval reads"):
        RunResults.read(tmp_path)
    (tmp_path / "results.json").write_text(json.dumps({"tasks": {"vqav2": {"metrics": {}}}}))
    with pytest.raises(UsageError, match="task 'vqav2': a task entry lacks n"):
        RunResults.read(tmp_path)
    with pytest.raises(UsageError, match="is not a run folder"):
        RunResults.read(tmp_path / "nowhere")


def test_limit_cut_counts_failed_samples_as_selected():
    summary = TaskSummary(metrics={}, n=3, errors=2)
    assert summary.limit_cut(5) and not summary.limit_cut(6) and not summary.limit_cut(None)
    results = RunResults(config={"limit": 5}, tasks={"a": summary, "b": TaskSummary(metrics={}, n=1)})
    assert results.effective_limit() == 5
    assert RunResults(config={"limit": 6}, tasks={"a": summary}).effective_limit() is None


def test_directions_come_from_the_metric_classes():
    """Each Metric class declares its lower-is-better names; an Evaluation takes them from there and nowhere else."""
    health = AnswerHealth()
    health.update(["yes", "", "no", "</s>"], ids=["a", "b", "c", "d"])
    assert health.compute() == {"empty_answers": 50.0}  # "" and a bare "</s>" are empty: 2 of 4
    evaluation = Evaluation({"accuracy": 75.0}, [{"accuracy": 100.0}] * 4).plus(health)
    assert evaluation.lower_is_better == {"empty_answers", "unparsed_answers"}
    assert evaluation.metrics == {"accuracy": 75.0, "empty_answers": 50.0}
    assert evaluation.notes == ["empty answers: 2 of 4 (50.0%), e.g. b: '', d: '</s>'"]
    assert FidelityScores.lower_is_better == {"fid", "kid_mean"} and GQAAccuracy.lower_is_better == {"distribution"}
    renamed = evaluation.renamed(lambda m: f"clip/{m}")
    assert renamed.lower_is_better == {"clip/empty_answers", "clip/unparsed_answers"}
    assert renamed.per_sample[0] == {"clip/accuracy": 100.0}
