"""`report --paper`: the paper's rows exactly as printed, measured rows with n and a 95% CI, measured minus
reported for the model that was run, and rows that are not reproductions saying why."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ddit_eval.cli import main
from ddit_eval.paper import paper_table, steps_reported
from ddit_eval.paper.report import write_paper_report
from ddit_eval.schema import RunResults, TaskSummary
from helpers import benchmark_data


def test_numbers_are_the_papers():
    """Key numbers, transcribed independently from the spec (shared/spec/ablations-and-paper-tables.md)."""
    understanding = paper_table("understanding")
    assert understanding.reported("D-DiT (512x512)") == {"MS-COCO CIDEr": 56.2, "VQAv2": 60.1, "VizWiz": 29.9,
                                                          "OKVQA": 25.3, "MME": 1124.7, "GQA": 59.2, "POPE": 84.0}
    small = understanding.reported("D-DiT (256x256)")
    assert small["MS-COCO CIDEr"] is None and (small["VQAv2"], small["MME"], small["POPE"]) == (59.5, 897.5, 79.2)
    assert understanding.reported("InternVL-2.0")["MME"] == 1648.1 and len(understanding.rows) == 15
    geneval = paper_table("geneval")
    assert list(geneval.reported("D-DiT (ours)").values()) == [0.65, 0.97, 0.80, 0.54, 0.76, 0.32, 0.50]
    assert list(geneval.reported("SD3").values()) == [0.62, 0.98, 0.74, 0.63, 0.67, 0.34, 0.36]
    assert geneval.reported("Transfusion") == {"Overall": 0.67, **{c: None for c in geneval.columns[1:]}}
    assert len(geneval.rows) == 13
    probe = paper_table("feature-probe")
    assert probe.reported("SD3 feature (frozen)") == {"0-shot": 42.3, "32-shot": 46.9}
    assert probe.reported("CLIP ViT L/14 (frozen)") == {"0-shot": 50.6, "32-shot": 54.8}
    assert probe.reported("D-DiT (ours)") == {"0-shot": 55.0, "32-shot": 60.3}
    steps = steps_reported()
    assert steps["vqav2"][1:] == ("accuracy", {4: 58.8, 8: 58.0, 16: 59.3, 32: 60.5, 64: 60.0, 128: 59.6})
    assert steps["coco-caption"][1:] == ("CIDEr", {4: 20.2, 8: 35.3, 16: 46.5, 32: 51.3, 64: 56.2, 128: 54.5})


# ----------------------------------------------------------------------------- run folders


def _geneval_run(folder: Path) -> Path:
    """A GenEval run folder as the geneval task writes one (results.json + scored samples), made by hand:
    the detector's weights are not available to tests.  20 prompts, 4 images each, two tags."""
    rng = np.random.default_rng(3)
    records = [{"id": f"{i:05d}", "seed": i, "tag": tag, "prediction": [f"geneval/{i:05d}_{k}.png" for k in range(4)],
                "scores": {"correct_images": float(rng.integers(0, 5)) / 4}}
               for i, tag in enumerate(["single_object"] * 10 + ["colors"] * 10)]
    single = np.mean([r["scores"]["correct_images"] for r in records[:10]])
    colors = np.mean([r["scores"]["correct_images"] for r in records[10:]])
    metrics = {"single_object": single, "colors": colors, "overall": (single + colors) / 2}
    (folder / "samples").mkdir(parents=True)
    (folder / "samples/geneval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    RunResults(config={"model": "JleeOfficial/dual_diff_sd3_512_sft", "seed": 0, "limit": None,
                       "tasks": {"geneval": {"name": "geneval", "settings": {"images_per_prompt": 4}}}},
               tasks={"geneval": TaskSummary(metrics=metrics, primary="overall", n=20)}).write(folder / "results.json")
    return folder


def _probe_run(folder: Path) -> Path:
    """A feature-probe run as that task writes one: `<encoder>/vqa_accuracy_<k>shot` per encoder and shot count,
    D-DiT's own answers as `ddit_direct_vqa_accuracy`, per-sample scores under the same names, the answerer's identity."""
    rng = np.random.default_rng(5)
    keys = ["clip/vqa_accuracy_0shot", "clip/vqa_accuracy_32shot", "ddit_direct_vqa_accuracy"]
    records = [{"id": str(i), "predictions": {}, "scores": {k: float(rng.choice([0, 30, 60, 100])) for k in keys}}
               for i in range(30)]
    metrics = {k: float(np.mean([r["scores"][k] for r in records])) for k in keys}
    (folder / "samples").mkdir(parents=True)
    (folder / "samples/feature-probe.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    summary = TaskSummary(metrics={**metrics, "clip/vqa_accuracy_0shot_yes_no": 70.0}, primary="clip/vqa_accuracy_0shot", n=30)
    RunResults(config={"model": "JleeOfficial/dual_diff_sd3_512_sft", "limit": None, "tasks": {"feature-probe": {
        "settings": {"encoders": "clip"}, "answerer": {"kind": "hf", "model": "Qwen/Qwen2.5-0.5B-Instruct"}}}},
        tasks={"feature-probe": summary}).write(folder / "results.json")
    return folder, metrics


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("paper")
    data = benchmark_data.make_hub_snapshot("VQAv2", root / "hub")
    pope = benchmark_data.make_hub_snapshot("POPE", root / "hub")
    base = ["run", "--model", "double:pixel", "--set", f"vqav2.dataset={data}"]
    assert main([*base, "--tasks", "vqav2,pope", "--set", f"pope.dataset={pope}", "--output-dir", str(root / "full")]) == 0
    assert main([*base, "--tasks", "vqav2", "--limit", "5", "--output-dir", str(root / "limited")]) == 0
    assert main([*base, "--tasks", "steps-ablation", "--set", "steps-ablation.tasks=vqav2", "--set",
                 "steps-ablation.steps=4,8", "--output-dir", str(root / "steps")]) == 0
    dirs = {"full": root / "full", "limited": root / "limited", "steps": root / "steps",
            "geneval": _geneval_run(root / "geneval")}
    dirs["probe"], probe = _probe_run(root / "probe")
    out = root / "report" / "paper"
    assert main(["report", "--paper", *map(str, dirs.values()), "--output", str(out)]) == 0
    return {"dirs": dirs, "out": out, "probe": probe}


def _shown(runs, table: str) -> pd.DataFrame:
    """The Markdown table as written, read back (cells are strings)."""
    lines = [l for l in Path(f"{runs['out']}-{table}.md").read_text().splitlines() if l.startswith("|")]
    cells = [[c.strip() for c in l.strip("|").split("|")] for l in lines]
    return pd.DataFrame(cells[2:], columns=cells[0])


def _row(frame: pd.DataFrame, column: str, startswith: str) -> pd.Series:
    hits = frame[frame[column].str.startswith(startswith)]
    assert len(hits) == 1, (startswith, list(frame[column]))
    return hits.iloc[0]


def test_every_reported_row_appears_exactly_as_printed(runs):
    shown = _shown(runs, "understanding")
    internvl = _row(shown, "model", "InternVL-2.0")
    assert list(internvl[["params", "text backbone", "image backbone"]]) == ["8B", "AR", "-"]
    assert list(internvl[list(paper_table("understanding").columns)]) == ["-", "-", "62.9", "62.9", "1648.1", "61.0", "86.9"]
    assert internvl["source"] == "reported"
    assert list(_row(_shown(runs, "geneval"), "model", "D-DiT (ours)")[["Overall", "Two", "Color attribution"]]) == \
        ["0.65", "0.80", "0.50"]
    assert (shown["source"] == "reported").sum() == 15
    numbers = pd.read_csv(f"{runs['out']}-understanding.csv")
    reported = numbers[numbers["source"] == "reported"]
    assert len(reported) == sum(v is not None for r in paper_table("understanding").rows for v in r["values"])


def test_measured_row_has_value_ci_n_and_the_difference_to_the_papers(runs):
    results = json.loads((runs["dirs"]["full"] / "results.json").read_text())["tasks"]
    vqa = results["vqav2"]["metrics"]["accuracy"]
    numbers = pd.read_csv(f"{runs['out']}-understanding.csv")
    measured = numbers[numbers["row"].str.contains("full") & numbers["source"].str.startswith("measured")]
    line = measured[(measured["column"] == "VQAv2") & ~measured["source"].str.contains("reported")].iloc[0]
    assert line["value"] == pytest.approx(vqa) and line["n"] == 12 and line["ci_low"] <= vqa <= line["ci_high"]
    assert line["ci_low"] < line["ci_high"] and line["protocol"].startswith("vqav2: ddit")
    delta = measured[(measured["column"] == "VQAv2") & (measured["source"] == "measured - reported")].iloc[0]
    assert delta["value"] == pytest.approx(vqa - 60.1)
    shown = _shown(runs, "understanding")
    assert _row(shown, "model", "measured: full")["VQAv2"] == f"{vqa:.1f} [{line['ci_low']:.1f}, {line['ci_high']:.1f}] n=12"
    delta_row = _row(shown, "model", "measured - reported: full")
    assert delta_row["model"].endswith("vs D-DiT (512x512)") and delta_row["source"] == "measured - reported"
    assert delta_row["POPE"] == f"{results['pope']['metrics']['accuracy'] - 84.0:+.1f}" and delta_row["MME"] == "-"


def test_a_limited_or_partial_run_is_not_presented_as_a_reproduction(runs):
    shown = _shown(runs, "understanding")
    limited, full = _row(shown, "model", "measured: limited"), _row(shown, "model", "measured: full")
    assert limited["source"] == full["source"] == "measured, not a reproduction"
    assert "vqav2: --limit 5" in limited["note"] and "vqav2: 12 of 214354 samples" in full["note"]


def test_a_full_default_run_is_a_reproduction(runs, tmp_path, monkeypatch):
    import ddit_eval.paper.measured as measured

    monkeypatch.setattr(measured, "full_set_size", lambda task: 12)  # the fixture is the whole benchmark
    text, _ = write_paper_report([str(runs["dirs"]["full"])], tmp_path / "paper")
    row = [[c.strip() for c in l.split("|")] for l in text.splitlines() if "measured: full" in l][0]
    assert "measured" in row and not any("reproduction" in c or "samples" in c for c in row)


def test_geneval_intervals_come_from_resampled_prompts(runs):
    numbers = pd.read_csv(f"{runs['out']}-geneval.csv")
    measured = numbers[numbers["source"].str.startswith("measured") & ~numbers["source"].str.contains("reported")]
    overall = measured[measured["column"] == "Overall"].iloc[0]
    assert overall["ci_low"] < overall["value"] < overall["ci_high"] and overall["n"] == 20
    assert set(measured["column"]) == {"Overall", "Single", "Colors"}
    assert "geneval: 20 of 553 samples" in overall["note"]


def test_ablation_tables_read_the_steps_ablation_and_feature_probe_runs(runs):
    cells = json.loads((runs["dirs"]["steps"] / "results.json").read_text())["tasks"]
    at4 = cells["steps-ablation.vqav2.steps-4"]["metrics"]["accuracy"]
    steps = _shown(runs, "steps-ablation")
    assert _row(steps, "task", "VQAv2 (acc.)")["T=4"] == "58.8"
    assert _row(steps, "task", "measured vqav2 accuracy")["T=4"].startswith(f"{at4:.1f} [")
    assert _row(steps, "task", "measured - reported vqav2")["T=4"] == f"{at4 - 58.8:+.1f}"
    assert _row(steps, "task", "measured vqav2")["T=16"] == "-"  # not run
    probe, measured = _shown(runs, "feature-probe"), runs["probe"]
    clip = _row(probe, "vision encoder", "measured clip")
    assert clip["0-shot"].startswith(f"{measured['clip/vqa_accuracy_0shot']:.1f} [") and clip["0-shot"].endswith("n=30")
    assert "not the paper's GPT-4" in clip["note"] and clip["source"] == "measured, not a reproduction"
    assert _row(probe, "vision encoder", "measured - reported clip")["32-shot"] == \
        f"{measured['clip/vqa_accuracy_32shot'] - 54.8:+.1f}"
    direct = _row(probe, "vision encoder", "measured ddit_direct")
    assert direct["32-shot"] == "-" and direct["source"] == "measured, not a reproduction"  # 30 of 214354 questions
    assert "answerer" not in direct["note"]  # D-DiT answers itself
    assert _row(probe, "vision encoder", "measured - reported ddit_direct")["0-shot"] == \
        f"{measured['ddit_direct_vqa_accuracy'] - 55.0:+.1f}"


def test_latex_and_figures_are_written(runs):
    for table in ("geneval", "understanding", "feature-probe", "steps-ablation"):
        assert Path(f"{runs['out']}-{table}.tex").read_text().startswith("\\begin{tabular}")
        assert Path(f"{runs['out']}-{table}.png").stat().st_size > 0
    assert "# The D-DiT paper's tables" in Path(f"{runs['out']}.md").read_text()


@pytest.mark.parametrize("model, papers", [("gpt-4", True), ("GPT-4-0613", True), ("gpt-4o", False),
                                           ("gpt-4-turbo", False), ("Qwen/Qwen2.5-0.5B-Instruct", False)])
def test_only_gpt_4_itself_counts_as_the_papers_answerer(model, papers):
    from ddit_eval.paper.measured import _is_papers_answerer

    assert _is_papers_answerer({"answerer": {"kind": "endpoint", "model": model}}) is papers


# ----------------------------------------------------------------------------- numbers that must not mislead


def _mme_run(folder: Path, categories: list[str], limit=None) -> Path:
    """An MME run as the task records one (by hand, no samples): each category scored 150 of 200, 8 questions each."""
    from ddit_eval.metrics.yesno import PERCEPTION

    scored = [c for c in PERCEPTION if c in categories]
    metrics = {**{f"{c}_score": 150.0 for c in categories}, "perception": 150.0 * len(scored) if scored else None,
               "perception_categories_scored": float(len(scored))}
    notes = [] if scored else ["perception undefined: no perception category scored"]
    folder.mkdir(parents=True)
    RunResults(config={"model": "JleeOfficial/dual_diff_sd3_512_sft", "limit": limit, "tasks": {"mme": {}}},
               tasks={"mme": TaskSummary(metrics=metrics, primary="perception", n=8 * len(categories), notes=notes)},
               ).write(folder / "results.json")
    return folder


def test_a_number_over_other_categories_is_never_subtracted_from_the_papers(tmp_path):
    """4 of 10 perception categories sum to 600 (max 800): beside the paper's 1124.7 (max 2000) it is
    "not comparable", with the reason, never "-524.7"; a limit above the data's size is no caveat."""
    run = _mme_run(tmp_path / "four", ["existence", "count", "position", "color"], limit=1000)
    write_paper_report([str(run)], tmp_path / "paper")
    shown = _shown({"out": tmp_path / "paper"}, "understanding")
    measured, delta = _row(shown, "model", "measured: four"), _row(shown, "model", "measured - reported: four")
    assert measured["MME"] == "600.0 [no CI] n=32" and delta["MME"] == "not comparable"
    assert "mme: perception measured over 4 of 10 perception categories" in delta["note"]
    assert "--limit" not in measured["note"] and "mme: 32 of 2374 samples" in measured["note"]
    numbers = pd.read_csv(tmp_path / "paper-understanding.csv")
    assert list(numbers[numbers["source"] == "measured - reported"]["column"]) == []  # no difference is written
    assert not (tmp_path / "paper-understanding.png").exists()  # nothing comparable to plot


def test_an_undefined_measured_number_reads_na(tmp_path):
    run = _mme_run(tmp_path / "cognition", ["code_reasoning"])
    write_paper_report([str(run)], tmp_path / "paper")
    shown = _shown({"out": tmp_path / "paper"}, "understanding")
    assert _row(shown, "model", "measured: cognition")["MME"] == "n/a n=8"
    assert _row(shown, "model", "measured - reported: cognition")["MME"] == "n/a"
    lines = (tmp_path / "paper-understanding.csv").read_text().splitlines()
    assert sum(",MME,n/a," in line for line in lines) == 2  # the measured line and its difference
    assert pd.read_csv(tmp_path / "paper-understanding.csv")["value"].dtype == float  # pandas reads n/a as NaN


def test_not_comparable_is_decided_by_the_categories_measured():
    from ddit_eval.metrics.geneval import TAGS
    from ddit_eval.paper.numbers import not_comparable

    assert not_comparable("mme", "perception", {"existence_score": 200.0}) == "measured over 1 of 10 perception categories"
    assert not_comparable("geneval", "overall", {t: 0.5 for t in TAGS}) is None
    assert not_comparable("geneval", "overall", {"colors": 0.5}) == "measured over 1 of 6 GenEval tags"
    assert not_comparable("pope", "accuracy", {"random_accuracy": 80.0}) == "measured over 1 of 3 POPE splits"
    assert not_comparable("vqav2", "accuracy", {}) is None  # a mean over questions: any subset is on its scale
