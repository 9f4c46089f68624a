import json
from pathlib import Path

import numpy as np
import pytest

from helpers.harness import samples
from ddit_eval.bootstrap import paired_bootstrap_ci
from ddit_eval.schema import RunResults, TaskSummary


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


# ----------------------------------------------------------------------------- undefined numbers, limits, bad folders


def _hand_run(folder: Path, metrics: dict, notes=(), scores=None, limit=None, primary="accuracy") -> Path:
    """A toy-colors run folder written by hand: results.json and, with `scores`, scored samples."""
    scores = scores if scores is not None else [100.0, 0.0, 100.0, 100.0]
    (folder / "samples").mkdir(parents=True)
    (folder / "samples/toy-colors.jsonl").write_text("".join(
        json.dumps({"id": f"c{i:04d}", "prediction": "red", "answer": "red", "scores": {"accuracy": s}}) + "\n"
        for i, s in enumerate(scores)))
    summary = TaskSummary(metrics=metrics, primary=primary, n=len(scores), notes=list(notes))
    RunResults(config={"model": "double:pixel", "seed": 0, "limit": limit, "tasks": {}},
               tasks={"toy-colors": summary}).write(folder / "results.json")
    return folder


def test_an_undefined_metric_reads_na_in_every_table_and_gets_no_bar(cli, tmp_path):
    """precision None (0/0) is "n/a" in report.md, the comparison's Markdown, CSV and LaTeX; never "None" or 0."""
    from ddit_eval import reports
    from ddit_eval.schema import load_results

    why = "precision undefined: no 'yes' answers (F1 too)"
    run = _hand_run(tmp_path / "a", {"accuracy": 75.0, "precision": None}, [why])
    other = _hand_run(tmp_path / "b", {"accuracy": 50.0, "precision": 40.0})
    text = reports.run_report(load_results(run), {})
    assert "| precision | n/a |" in text and "| None |" not in text and f"- toy-colors: {why}" in text
    code, out, _ = cli("report", run, other, "--output", tmp_path / "cmp")
    assert code == 0
    row = [c.strip() for c in next(l for l in out.splitlines() if l.startswith("| a ")).split("|")]
    assert row[2:4] == ["75", "n/a"]
    assert (tmp_path / "cmp.csv").read_text().splitlines()[1] == "a,75.0,n/a"
    assert "n/a" in (tmp_path / "cmp.tex").read_text() and (tmp_path / "cmp-toy-colors.png").is_file()
    none = _hand_run(tmp_path / "c", {"accuracy": None})
    written = reports.write_comparison(reports.comparison_table([str(none)]), tmp_path / "none")
    assert [p.suffix for p in written] == [".md", ".csv", ".tex"]  # nothing measured: no plot, no crash


def test_a_corrupt_results_json_is_skipped_like_a_missing_one(cli, tmp_path):
    good = _hand_run(tmp_path / "good", {"accuracy": 75.0})
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt/results.json").write_text('{"tasks": {')
    (tmp_path / "empty").mkdir()
    code, out, err = cli("report", good, tmp_path / "corrupt", tmp_path / "empty", "--output", tmp_path / "cmp")
    assert code == 0 and "| good " in out
    warnings = [l for l in err.splitlines() if l.startswith("warning: skipping")]
    assert len(warnings) == 2 and str(tmp_path / "corrupt/results.json") in warnings[0]
    assert "cannot read" in warnings[0] and "no results.json" in warnings[1]
    code, _, err = cli("report", "--paper", good, tmp_path / "corrupt", "--output", tmp_path / "paper")
    assert code == 0 and "warning: skipping" in err


def test_a_limit_above_the_data_size_is_not_a_partial_run(cli, tmp_path):
    """--limit 1000 on 24 samples scores all 24: said so, no "first samples only" flag, and the gate matches it
    with a run without --limit."""
    toy = ["run", "--tasks", "toy-colors", "--model", "double:pixel", "--set", "num_samples=24"]
    assert cli(*toy, "--limit", 1000, "--output-dir", tmp_path / "big")[0] == 0
    assert cli(*toy, "--output-dir", tmp_path / "all")[0] == 0
    assert cli(*toy, "--limit", 10, "--output-dir", tmp_path / "cut")[0] == 0
    notes = json.loads((tmp_path / "big/results.json").read_text())["tasks"]["toy-colors"]["notes"]
    assert notes == ["--limit 1000 exceeds the 24 samples: all 24 scored"]
    cut = json.loads((tmp_path / "cut/results.json").read_text())["tasks"]["toy-colors"]["notes"]
    assert cut == ["scored the first 10 samples only (--limit 10)"]
    code, out, _ = cli("report", tmp_path / "big", tmp_path / "cut", "--output", tmp_path / "cmp")
    rows = {l.split("|")[1].strip(): [c.strip() for c in l.split("|")[2:-1]] for l in out.splitlines() if l.startswith("| ")}
    assert rows["big"][-4:] == ["24", "1000", "0", ""] and rows["cut"][-1] == "--limit 10: first samples only"
    code, out, err = cli("compare", tmp_path / "all", tmp_path / "big")
    assert code == 0 and "limit differs" not in err + out


def test_detectable_drop_of_two_constant_runs_is_not_zero(cli, tmp_path):
    """Both runs answer all 16 right: the standard error is 0, which detects nothing; the table says n/a, why."""
    toy = ["run", "--tasks", "toy-colors", "--model", "double:pixel", "--set", "num_samples=16"]
    assert cli(*toy, "--output-dir", tmp_path / "a")[0] == 0
    assert cli(*toy, "--output-dir", tmp_path / "b")[0] == 0
    code, out, _ = cli("compare", tmp_path / "a", tmp_path / "b")
    row = [c.strip() for c in next(l for l in out.splitlines() if l.startswith("| toy-colors | accuracy")).split("|")]
    assert code == 0 and row[3:6] == ["16", "100", "100"]
    assert row[8] == "n/a (no variance: both runs constant)"


def test_a_metric_undefined_in_one_run_is_not_gated_and_the_gate_says_so(cli, tmp_path):
    """The headline `recall` is None in the candidate: no row, a note with the run's reason; accuracy is still gated."""
    why = "recall undefined: no 'yes' questions (F1 too)"
    base = _hand_run(tmp_path / "base", {"accuracy": 75.0, "recall": 50.0}, primary="recall")
    cand = _hand_run(tmp_path / "cand", {"accuracy": 75.0, "recall": None}, [why], primary="recall")
    code, out, _ = cli("compare", base, cand)
    assert code == 0 and "| toy-colors | accuracy | 4 |" in out and "| toy-colors | recall |" not in out
    assert f"note: toy-colors.recall: not gated: undefined in the candidate run ({why})" in out
