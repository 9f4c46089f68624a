import json
from pathlib import Path

import numpy as np
import pytest

from harness_helpers import samples
from ddit_eval.compare import paired_bootstrap_ci


def test_score_a_predictions_file(cli, tmp_path):
    preds = tmp_path / "preds.jsonl"
    # references of toy-colors: c0000 black, c0001 yellow, c0002 white, c0003 red
    preds.write_text("".join(json.dumps({"id": f"c{i:04d}", "prediction": p}) + "\n"
                             for i, p in enumerate(["black", "yellow", "red", "red"])))
    code, out, _ = cli("score", "--task", "toy-colors", "--predictions", preds, "--output-dir", tmp_path / "scored")
    assert code == 0
    summary = json.loads((tmp_path / "scored/results.json").read_text())["tasks"]["toy-colors"]
    assert summary["metrics"]["accuracy"] == 75.0 and summary["n"] == 4
    assert any("scored 4 of 40" in note for note in summary["notes"])
    assert [r["scores"]["accuracy"] for r in samples(tmp_path / "scored", "toy-colors")] == [100, 100, 0, 100]


def test_score_image_predictions_made_elsewhere(cli, tmp_path):
    assert cli("run", "--tasks", "toy-draw", "--model", "double:pixel", "--output-dir", tmp_path / "run")[0] == 0
    made = samples(tmp_path / "run", "toy-draw")
    preds = tmp_path / "run/samples/toy-draw.jsonl"  # image paths in it are relative to its folder
    code, _, _ = cli("score", "--task", "toy-draw", "--predictions", preds, "--output-dir", tmp_path / "scored")
    assert code == 0
    scored = samples(tmp_path / "scored", "toy-draw")
    assert [r["scores"] for r in scored] == [r["scores"] for r in made]
    assert all(Path(p).is_file() for r in scored for p in r["prediction"])  # still point at the images


def test_score_rejects_ids_that_are_not_samples(cli, tmp_path):
    preds = tmp_path / "preds.jsonl"
    preds.write_text(json.dumps({"id": "zzz", "prediction": "red"}) + "\n")
    code, _, err = cli("score", "--task", "toy-colors", "--predictions", preds)
    assert code == 2 and "'zzz'" in err


def test_bootstrap_interval_of_a_constant_difference_is_that_constant():
    assert paired_bootstrap_ci(np.full(50, -2.0), 0.05) == (-2.0, -2.0)


def test_bootstrap_interval_matches_the_normal_approximation():
    rng = np.random.default_rng(1)
    diffs = rng.normal(0.5, 2.0, size=400)
    lo, hi = paired_bootstrap_ci(diffs, 0.05)
    se = diffs.std(ddof=1) / np.sqrt(len(diffs))
    assert lo == pytest.approx(diffs.mean() - 1.96 * se, abs=0.04)
    assert hi == pytest.approx(diffs.mean() + 1.96 * se, abs=0.04)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from ddit_eval.cli import main

    root = tmp_path_factory.mktemp("runs")
    for name, model, seed in [("base", "double:pixel?wrong=0.05", 0), ("noise", "double:pixel?wrong=0.05", 1),
                              ("worse", "double:pixel?wrong=0.4", 0)]:
        assert main(["run", "--tasks", "toy-colors", "--model", model, "--seed", str(seed), "--set", "num_samples=300",
                     "--output-dir", str(root / name)]) == 0
    return root


def test_compare_fails_on_a_planted_significant_drop(cli, runs):
    code, out, err = cli("compare", runs / "base", runs / "worse")
    assert code == 1
    assert "| toy-colors | accuracy | 300 |" in out and "FAIL" in out and "FAIL toy-colors.accuracy" in err


def test_compare_passes_noise_level_differences(cli, runs):
    base = json.loads((runs / "base/results.json").read_text())["tasks"]["toy-colors"]["metrics"]["accuracy"]
    noise = json.loads((runs / "noise/results.json").read_text())["tasks"]["toy-colors"]["metrics"]["accuracy"]
    assert base != noise  # the runs do differ, by noise
    # the noise comes from another run seed, which the gate now refuses unless told (issue 16)
    code, out, _ = cli("compare", runs / "base", runs / "noise", "--allow-mismatch")
    assert code == 0 and "FAIL" not in out
    code, _, err = cli("compare", runs / "base", runs / "noise")
    assert code == 1 and "seed differs (baseline 0, candidate 1)" in err


def test_compare_fails_when_the_candidate_errors_on_samples_the_baseline_scored(cli, runs, tmp_path):
    # same seed and noise as the baseline, so every paired score is equal; only the failures differ
    assert cli("run", "--tasks", "toy-colors", "--model", "double:pixel?wrong=0.05&fail=c000", "--set", "num_samples=300",
               "--output-dir", tmp_path / "crashy")[0] == 0
    code, out, err = cli("compare", runs / "base", tmp_path / "crashy")
    assert code == 1 and "| toy-colors | accuracy | 290 |" in out
    assert "FAIL toy-colors: 10 samples the baseline scored failed in the candidate" in err


def test_compare_allows_a_drop_within_its_margin(cli, runs):
    code, out, _ = cli("compare", runs / "base", runs / "worse", "--max-drop", "toy-colors.accuracy=60")
    assert code == 0 and "drop (within margin)" in out
    code, _, err = cli("compare", runs / "base", runs / "worse", "--max-drop", "toy-colors.acc=1")
    assert code == 2 and "toy-colors.acc" in err


def test_report_writes_markdown_csv_latex_and_plots(cli, runs, tmp_path):
    code, out, _ = cli("report", runs / "base", runs / "worse", "--output", tmp_path / "cmp")
    assert code == 0
    csv = (tmp_path / "cmp.csv").read_text().splitlines()
    assert csv[0] == "run,toy-colors/accuracy" and csv[1].startswith("base,") and csv[2].startswith("worse,")
    assert "\\begin{tabular}" in (tmp_path / "cmp.tex").read_text()
    assert "toy-colors/accuracy" in (tmp_path / "cmp.md").read_text() and "worse" in out
    assert (tmp_path / "cmp-toy-colors.png").stat().st_size > 1000
    assert cli("report", runs / "base", "--output", tmp_path / "named.md")[0] == 0  # a suffix names the same stem
    assert (tmp_path / "named.csv").is_file() and (tmp_path / "named-toy-colors.png").is_file()
    code, _, err = cli("report", tmp_path)
    assert code == 2 and "not a run folder" in err


def test_score_and_run_write_the_same_summary_fields(cli, tmp_path):
    """One scoring path: a score of a run's own log gives the run's metrics, with the same fields, errors included."""
    run = ["run", "--tasks", "toy-colors", "--model", "double:pixel?wrong=0.3&fail=c0003", "--set", "num_samples=12"]
    assert cli(*run, "--output-dir", tmp_path / "run")[0] == 0
    code, _, _ = cli("score", "--task", "toy-colors", "--predictions", tmp_path / "run/samples/toy-colors.jsonl",
                     "--set", "num_samples=12", "--output-dir", tmp_path / "scored")
    assert code == 0
    ran, scored = (json.loads((tmp_path / d / "results.json").read_text())["tasks"]["toy-colors"] for d in ("run", "scored"))
    assert set(scored) == set(ran) and set(scored["timing"]) >= {"compute_s", "model_s", "score_s"}
    assert scored["metrics"] == ran["metrics"] and scored["n"] == ran["n"] == 11
    assert scored["errors"] == ran["errors"] == 1 and scored["error_examples"][0]["id"] == "c0003"
