"""steps-ablation: cells are ordinary tasks with paired seeds; its table, plot and paired intervals;
resume after kill -9; bad settings are one line before the model loads."""

import json
import signal
import time
from pathlib import Path

import pytest

from ddit_eval.cli import main
from ddit_eval.paper.intervals import paired_difference
from ddit_eval.registry import TASKS
from ddit_eval.results import read_jsonl
from ddit_eval.seeding import sample_seed
from helpers import benchmark_data
from helpers.harness import run_subprocess

SHAPES = ["--tasks", "steps-ablation", "--set", "steps-ablation.tasks=shapes-vqa", "--batch-size", "4"]


def _cells(run_dir: Path) -> dict[str, list[dict]]:
    return {p.stem: read_jsonl(p) for p in sorted((run_dir / "samples").glob("*.jsonl"))}


def test_cells_wrap_the_real_task_at_each_step_count():
    ablation = TASKS.get("steps-ablation")(tasks="shapes-vqa,shapes-caption", steps="8,4")
    cells = ablation.cells({"shapes-vqa": {"num_questions": 6}})
    assert [c.name for c in cells] == ["steps-ablation.shapes-vqa.steps-4", "steps-ablation.shapes-vqa.steps-8",
                                       "steps-ablation.shapes-caption.steps-4", "steps-ablation.shapes-caption.steps-8"]
    vqa4 = cells[0]
    sample = next(iter(vqa4.samples()))
    assert vqa4.build_request(sample, 7).steps == 4 and cells[1].build_request(sample, 7).steps == 8
    assert vqa4.seed_scope == cells[1].seed_scope == "shapes-vqa" and vqa4.primary_metric == "accuracy"
    assert len(list(vqa4.samples())) == 6  # the inner task's own setting reached it
    assert vqa4.config()["task"]["settings"]["steps"] == 4 and cells[2].request_kind == "caption"


@pytest.mark.parametrize("sets, message", [
    (["steps-ablation.tasks=shapes-vqa,vqa2"], "unknown task 'vqa2'; did you mean vqav2"),
    (["steps-ablation.steps=4,0"], "steps='4,0'"),
    (["steps-ablation.steps=4,4"], "a step count appears twice"),
    (["steps-ablation.tasks=shapes-geneval"], "'shapes-geneval' has no text-diffusion steps"),
    (["steps-ablation.tasks=shapes-vqa", "shapes-vqa.steps=8"], "sets the steps of shapes-vqa"),
    (["steps-ablation.tasks=shapes-vqa", "gqa.dataset=/x"], "'gqa' is neither selected nor run"),
    (["steps-ablation.tasks=shapes-vqa", "shapes-vqa.nope=1"], "unknown --set key 'nope'"),
])
def test_bad_settings_are_one_line_before_the_model_loads(sets, message, tmp_path, capsys):
    args = ["run", "--tasks", "steps-ablation", "--model", str(tmp_path / "no-model"), "--output-dir", str(tmp_path / "run")]
    assert main([*args, *[a for s in sets for a in ("--set", s)]]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and not (tmp_path / "run").exists()


def test_table_plot_and_paired_seeds_on_the_double(tmp_path):
    out = tmp_path / "run"
    assert main(["run", *SHAPES, "--set", "steps-ablation.steps=2,4,8", "--model", "double:pixel?wrong=0.3",
                 "--limit", "20", "--output-dir", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    summary = results["ablations"]["steps-ablation"]
    cells = summary["tasks"]["shapes-vqa"]["cells"]
    assert [c["steps"] for c in cells] == [2, 4, 8] and [c["network_calls_bound"] for c in cells] == [3, 5, 9]
    for c in cells:
        assert c["value"] == results["tasks"][c["cell"]]["metrics"]["accuracy"] and c["n"] == 20
        assert c["ci"][0] <= c["value"] <= c["ci"][1] and c["seconds_per_sample"] > 0
        assert c["network_calls_per_sample"] is None and c["paper"] is None  # the double counts nothing; not the paper's task
    records = _cells(out)
    seeds = [[r["seed"] for r in recs] for recs in records.values()]
    assert seeds[0] == seeds[1] == seeds[2] == [sample_seed(0, "shapes-vqa", r["id"]) for r in records[next(iter(records))]]
    # the double's "wrong" answers are drawn from the seed, so paired cells answer alike: the difference is exactly 0
    assert cells[1]["vs_previous"] == {"from_steps": 2, "diff": 0.0, "ci": [0.0, 0.0], "n": 20,
                                       "method": "paired bootstrap over samples"}
    table = (out / "steps-ablation.md").read_text()
    assert "| shapes-vqa accuracy (measured)" in table and "network calls per sample: this model does not count" in table
    assert (out / "steps-ablation.csv").read_text().startswith("row,T=2,T=4,T=8")
    assert summary["plots"] == ["steps-ablation-shapes-vqa.png"] and (out / summary["plots"][0]).stat().st_size > 5000
    assert "steps-ablation-shapes-vqa.png" in (out / "report.md").read_text()


def test_paired_difference_is_the_mean_of_per_sample_differences():
    first = [{"id": str(i), "scores": {"accuracy": a}} for i, a in enumerate([0, 100, 0, 100, 30])]
    second = [{"id": str(i), "scores": {"accuracy": a}} for i, a in enumerate([100, 100, 0, 100, 60])][::-1]
    step = paired_difference((None, first), (None, second), "accuracy")
    assert step["diff"] == pytest.approx(26.0) and step["n"] == 5 and step["ci"][0] <= 26.0 <= step["ci"][1]
    constant = [{"id": r["id"], "scores": {"accuracy": r["scores"]["accuracy"] + 10}} for r in first]
    assert paired_difference((None, first), (None, constant), "accuracy")["ci"] == [10.0, 10.0]


def test_the_papers_task_gets_the_papers_row_and_its_own_settings(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path_factory.getbasetemp() / "datasets-cache"))
    data = benchmark_data.make_hub_snapshot("VQAv2", tmp_path_factory.mktemp("hub"))
    out = tmp_path_factory.mktemp("vqav2") / "run"
    assert main(["run", "--tasks", "steps-ablation", "--set", "steps-ablation.tasks=vqav2", "--set",
                 "steps-ablation.steps=4,128", "--set", f"vqav2.dataset={data}", "--model", "double:pixel",
                 "--output-dir", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["tasks"]["steps-ablation.vqav2.steps-4"]["task"]["dataset"]["id"] == str(data)
    part = results["ablations"]["steps-ablation"]["tasks"]["vqav2"]
    assert part["paper_row"] == "VQAv2 (acc.)" and [c["paper"] for c in part["cells"]] == [58.8, 59.6]
    line = [l for l in (out / "steps-ablation.md").read_text().splitlines() if l.startswith("| VQAv2 (acc.) (paper")]
    assert [c.strip() for c in line[0].strip("|").split("|")][1:] == ["58.8", "59.6"]


def test_network_calls_are_counted_on_the_tiny_model(tmp_path):
    out = tmp_path / "run"
    assert main(["run", *SHAPES, "--set", "steps-ablation.steps=2,4", "--limit", "3", "--output-dir", str(out)]) == 0
    cells = json.loads((out / "results.json").read_text())["ablations"]["steps-ablation"]["tasks"]["shapes-vqa"]["cells"]
    for c in cells:
        assert 1 <= c["network_calls_per_sample"] <= c["steps"] + 1


def test_resume_after_kill_9_mid_sweep_equals_an_uninterrupted_run(tmp_path):
    args = ["run", *SHAPES, "--set", "steps-ablation.steps=1,2,3", "--set", "shapes-vqa.num_questions=40",
            "--model", "double:pixel?delay=0.01&wrong=0.3"]
    assert main([*args, "--output-dir", str(tmp_path / "full")]) == 0
    proc = run_subprocess(*args, "--output-dir", tmp_path / "resumed")
    second = tmp_path / "resumed/samples/steps-ablation.shapes-vqa.steps-2.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if second.exists() and second.read_bytes().count(b"\n") >= 12:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = second.read_bytes().count(b"\n")
    assert 12 <= killed_at < 40  # the kill landed in the middle of the second cell
    assert main([*args, "--output-dir", str(tmp_path / "resumed")]) == 0

    full, resumed = _cells(tmp_path / "full"), _cells(tmp_path / "resumed")
    assert list(resumed) == list(full) and len(full) == 3
    for cell, records in full.items():
        assert [r["id"] for r in resumed[cell]] == [r["id"] for r in records]  # none lost, none twice
        assert [(r["prediction"], r["scores"]) for r in resumed[cell]] == [(r["prediction"], r["scores"]) for r in records]

    def measured(run):
        summary = json.loads((tmp_path / run / "results.json").read_text())["ablations"]["steps-ablation"]
        return [{k: v for k, v in c.items() if k != "seconds_per_sample"} for c in summary["tasks"]["shapes-vqa"]["cells"]]

    assert measured("resumed") == measured("full")
    assert all(c["seconds_per_sample"] > 0 for c in json.loads((tmp_path / "resumed/results.json").read_text())
               ["ablations"]["steps-ablation"]["tasks"]["shapes-vqa"]["cells"])
