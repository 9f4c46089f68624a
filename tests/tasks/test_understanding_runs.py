"""End to end: `run` and `score` on the real benchmarks' schemas, with the test double and the tiny model."""

import json

import pytest

from ddit_eval.cli import main
from ddit_eval.metrics.vqa import normalize_answer
from ddit_eval.results import read_jsonl
from helpers import benchmark_data

DATA = {"vqav2": "VQAv2", "vqav2-testdev": "VQAv2", "vizwiz": "VizWiz-VQA", "vizwiz-test": "VizWiz-VQA",
        "okvqa": "OK-VQA", "pope": "POPE", "mme": "MME", "gqa": "GQA", "coco2017-caption": "COCO-Caption2017"}
BENCHMARK_IDS = {"vqav2": ("question_id", "image_id", "answer_type"), "vizwiz": ("question_id", "category"),
                 "okvqa": ("question_id",), "pope": ("question_id", "category", "image_source"),
                 "mme": ("question_id", "category"), "gqa": ("id", "imageId"), "coco2017-caption": ("question_id",),
                 "vqav2-testdev": ("question_id", "image_id"), "vizwiz-test": ("question_id",)}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub")
    folders = {name: benchmark_data.make_hub_snapshot(name, root) for name in set(DATA.values())}
    split_file, images = benchmark_data.make_karpathy(tmp_path_factory.mktemp("karpathy"))
    sets = [f"{task}.dataset={folders[name]}" for task, name in DATA.items()]
    sets += [f"coco-caption.karpathy_file={split_file}", f"coco-caption.images_dir={images}"]
    return {"folders": folders, "sets": sets}


@pytest.fixture(autouse=True)
def private_datasets_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path_factory.getbasetemp() / "datasets-cache"))


def run(tmp_path, tasks, data, *extra):
    out = tmp_path / "run"
    selected = set(tasks.split(","))
    sets = [a for s in data["sets"] if s.split(".", 1)[0] in selected for a in ("--set", s)]
    code = main(["run", "--tasks", tasks, "--output-dir", str(out), *sets, *extra])
    return code, out


@pytest.mark.parametrize("task", sorted(DATA))
def test_every_task_runs_on_the_double_and_keeps_benchmark_ids(task, data, tmp_path):
    code, out = run(tmp_path, task, data, "--model", "double:pixel")
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    summary = results["tasks"][task]
    assert summary["errors"] == 0 and summary["n"] > 0
    recorded = results["config"]["tasks"][task]
    assert recorded["dataset"]["layout"] == "hub snapshot" and len(recorded["dataset"]["fingerprint"]) == 64
    assert recorded["protocol"] == "ddit"
    lines = read_jsonl(out / "samples" / f"{task}.jsonl")
    # the double always answers a word (a colour, yes/no, a number) or "a picture of ...": no answer is empty
    assert len(lines) == summary["n"] and all(str(line["prediction"]).strip() for line in lines)
    assert summary["metrics"]["empty_answers"] == 0.0
    for field in BENCHMARK_IDS[task]:
        assert all(field in line for line in lines), field
    assert all("prompt" in line or task.startswith("coco") for line in lines)


def test_vqav2_scores_of_the_double_are_the_hand_computed_ones(data, tmp_path):
    """The fixture (benchmark_data._vqav2_rows) has 4 pictures, red, green, blue and yellow, with 3 questions each.
    The double answers the dominant colour, "no" to "Is there a circle ...?" and "one" to "How many squares ...?"
    (the grey patch is too small to count).  Official VQA accuracy, min(1, matches / 3) averaged over the 10
    leave-one-out subsets of the 10 answers:
    - colour, 8 x colour + "light <colour>" + another colour: every subset keeps >= 7 matches: 1; but picture 1
      (green) has 2 x green + 8 x "dark green": the 2 subsets without a green keep 1 match (1/3), the 8 others 2
      (2/3): (2 * 1/3 + 8 * 2/3) / 10 = 0.6;
    - "no" against 9 x no + 1 x yes: 1;  "one" (read as "1") against 7 x "1" + 3 x "2": 1.
    """
    code, out = run(tmp_path, "vqav2", data, "--model", "double:pixel")
    assert code == 0
    lines = read_jsonl(out / "samples" / "vqav2.jsonl")
    assert [line["prediction"] for line in lines] == [a for c in benchmark_data.COLOURS for a in (c, "no", "one")]
    metrics = json.loads((out / "results.json").read_text())["tasks"]["vqav2"]["metrics"]
    assert metrics == pytest.approx({"accuracy": 100 * (11 + 0.6) / 12, "accuracy_other": 100 * (3 + 0.6) / 4,
                                     "accuracy_yes_no": 100.0, "accuracy_number": 100.0, "empty_answers": 0.0})


def test_vqav2_testdev_submission_covers_every_test_id(data, tmp_path):
    code, out = run(tmp_path, "vqav2-testdev", data, "--model", "double:pixel")
    assert code == 0
    import datasets

    test_ids = datasets.load_dataset(str(data["folders"]["VQAv2"]), split="test")["question_id"]
    testdev = {line["question_id"]: line["prediction"] for line in read_jsonl(out / "samples" / "vqav2-testdev.jsonl")}
    rows = json.loads((out / "vqav2-testdev_submission.json").read_text())
    assert sorted(r["question_id"] for r in rows) == sorted(test_ids)
    assert set(testdev) < set(test_ids)
    assert all(set(r) == {"question_id", "answer"} and isinstance(r["question_id"], int) for r in rows)
    by_id = {r["question_id"]: r["answer"] for r in rows}
    assert {p for p in testdev.values()} & {"one", "two", "three"}  # number words, which the server would normalise
    assert all(by_id[q] == normalize_answer(p) for q, p in testdev.items())  # submitted as the server normalises


def test_vizwiz_test_submission_shape(data, tmp_path):
    code, out = run(tmp_path, "vizwiz-test", data, "--model", "double:pixel")
    assert code == 0
    rows = json.loads((out / "vizwiz-test_submission.json").read_text())
    lines = read_jsonl(out / "samples" / "vizwiz-test.jsonl")
    assert len(rows) == len(lines) and all(set(r) == {"image", "answer"} and r["image"].endswith(".jpg") for r in rows)


def test_score_matches_predictions_by_the_benchmarks_own_ids(data, tmp_path):
    """Predictions made elsewhere (lmms-eval style: question_id + answer text) are scored without a model."""
    code, out = run(tmp_path, "pope", data, "--model", "double:pixel")
    assert code == 0
    made = read_jsonl(out / "samples" / "pope.jsonl")
    external = tmp_path / "external.jsonl"
    external.write_text("".join(json.dumps({"question_id": r["question_id"], "category": r["category"],
                                            "prediction": r["prediction"]}) + "\n" for r in made))
    scored = tmp_path / "scored"
    assert main(["score", "--task", "pope", "--predictions", str(external), "--output-dir", str(scored),
                 "--set", f"dataset={data['folders']['POPE']}"]) == 0
    ours = json.loads((out / "results.json").read_text())["tasks"]["pope"]["metrics"]
    theirs = json.loads((scored / "results.json").read_text())["tasks"]["pope"]["metrics"]
    assert theirs == ours


def test_every_task_on_the_tiny_model(data, tmp_path):
    """The paper's table and the other real tasks end to end on the embedded tiny D-DiT (a few samples each)."""
    tasks = ",".join(["coco-caption", "vqav2", "vizwiz", "okvqa", "mme", "gqa", "pope", "coco2017-caption",
                      "vqav2-testdev", "vizwiz-test"])
    code, out = run(tmp_path, tasks, data, "--limit", "3", "--batch-size", "4")
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert set(results["tasks"]) == set(tasks.split(","))
    for name, summary in results["tasks"].items():
        # MME's --limit 3 reaches 3 categories with an image's two questions each (acc+ needs both)
        assert summary["n"] == (6 if name == "mme" else 3) and summary["errors"] == 0, name
        assert "empty_answers" in summary["metrics"]
    mme_cut = [n for n in results["tasks"]["mme"]["notes"] if "--limit 3" in n]
    assert mme_cut and "a stratified selection by category (seed 0, whole resampling groups)" in mme_cut[0]
    assert results["config"]["tasks"]["vqav2"]["prompt_template"].startswith("Q: {question}")
    assert set(results["outputs"]) == {"vqav2-testdev", "vizwiz-test"}
    assert all((out / path).is_file() for paths in results["outputs"].values() for path in paths)
