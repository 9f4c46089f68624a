"""ddit-eval runs written in lmms-eval 0.7.3's layout (no lmms-eval install needed)."""

import json
import math
import re

import pytest

from ddit_eval.cli import main
from ddit_eval.interop.lmms_results import sanitize_model_name, write_lmms_eval_results
from ddit_eval.schema import RunResults, TaskSummary

RESULTS = RunResults(
    tasks={"toy": TaskSummary(metrics={"accuracy": 200 / 3, "empty_answers": 0.0}, primary="accuracy", n=3, errors=1,
                              lower_is_better=["empty_answers"])},
    config={"model": "org/ckpt", "seed": 7, "limit": None, "device": "cpu", "batch_size": 4,
            "tasks": {"toy": {"name": "toy", "dataset": {"id": "lmms-lab/Toy", "revision": "abc", "split": "test"},
                              "settings": {"steps": 32}, "answer_length": 16, "steps": 32}}},
    versions={"ddit_eval": "0.1.0", "git_commit": "deadbeef"},
    timing={"total_s": 12.5},
).to_json()
RECORDS = [
    {"id": "a", "seed": 1, "question": "Is it red?", "answer": "yes", "prompt": "Q: Is it red? A: ", "prediction": "yes",
     "scores": {"accuracy": 100.0}},
    {"id": "b", "seed": 2, "question": "Is it blue?", "answer": "no", "prompt": "Q: Is it blue? A: ", "prediction": "yes",
     "scores": {"accuracy": 0.0}},
    {"id": "c", "seed": 3, "question": "Is it big?", "answer": "no", "error": "corrupt image"},
    {"id": "d", "seed": 4, "question": "Is it round?", "answer": "yes", "prompt": "Q: Is it round? A: ", "prediction": "yes",
     "scores": {"accuracy": 100.0}},
]


@pytest.mark.parametrize("model, folder", [
    ("JleeOfficial/dual_diff_sd3_512_sft", "JleeOfficial__dual_diff_sd3_512_sft"),  # a hub id: owner__name
    ("/models/ckpts/tiny-shapes/", "ckpts__tiny-shapes"),  # a path: its last two parts
    ("double:pixel", "double__pixel"),
])
def test_model_folder_is_named_as_lmms_eval_names_it(model, folder):
    assert sanitize_model_name(model) == folder


def _written(tmp_path):
    paths = write_lmms_eval_results(tmp_path, RESULTS, {"toy": RECORDS}, "org/ckpt")
    results_file = next(p for p in paths if p.name.endswith("_results.json"))
    samples_file = next(p for p in paths if p.name.endswith("_samples_toy.jsonl"))
    return paths, json.loads(results_file.read_text()), [json.loads(line) for line in samples_file.read_text().splitlines()]


def test_files_follow_lmms_eval_layout(tmp_path):
    paths, _, _ = _written(tmp_path)
    names = sorted(p.relative_to(tmp_path).as_posix() for p in paths)
    stamp = names[0].split("/")[-1][:15]
    assert re.fullmatch(r"\d{8}_\d{6}", stamp)
    assert names == [f"lmms-eval/org__ckpt/{stamp}_results.json", f"lmms-eval/org__ckpt/{stamp}_samples_toy.jsonl"]


def test_results_use_lmms_eval_keys_and_values(tmp_path):
    _, doc, _ = _written(tmp_path)
    toy = doc["results"]["toy"]
    assert toy["alias"] == "toy" and toy["accuracy,none"] == pytest.approx(200 / 3)
    # per-sample accuracies 100, 0, 100: sample sd = sqrt(3333.3), over sqrt(3)
    assert toy["accuracy_stderr,none"] == pytest.approx(math.sqrt(10000 / 3) / math.sqrt(3))
    assert toy["empty_answers_stderr,none"] == "N/A"  # no per-sample form
    assert doc["higher_is_better"] == {"toy": {"accuracy": True, "empty_answers": False}}
    assert doc["n-samples"] == {"toy": {"original": 4, "effective": 3}}
    assert doc["n-shot"] == {"toy": 0} and doc["group_subtasks"] == {"toy": []}
    assert doc["versions"] == {"toy": "ddit-eval 0.1.0"} and doc["git_hash"] == "deadbeef"
    config = doc["configs"]["toy"]
    assert (config["dataset_path"], config["test_split"], config["generation_kwargs"]) == (
        "lmms-lab/Toy", "test", {"max_new_tokens": 16, "steps": 32})
    assert doc["config"]["model_args"] == "pretrained=org/ckpt,seed=7" and doc["config"]["batch_size"] == 4
    assert doc["model_name_sanitized"] == "org__ckpt" and doc["total_evaluation_time_seconds"] == "12.5"


def test_sample_lines_keep_document_positions_and_skip_errors(tmp_path):
    _, doc, lines = _written(tmp_path)
    assert [line["doc_id"] for line in lines] == [0, 1, 3]  # the failed sample 2 is left out, positions kept
    first = lines[0]
    assert (first["target"], first["filtered_resps"], first["accuracy"], first["input"]) == ("yes", "yes", 100.0, "Q: Is it red? A: ")
    assert first["token_counts"] == [None] and re.fullmatch(r"[0-9a-f]{64}", first["doc_hash"])
    assert (first["ddit_eval_id"], first["ddit_eval_seed"]) == ("a", 1)
    assert re.fullmatch(r"[0-9a-f]{64}", doc["task_hashes"]["toy"])


def test_dataset_row_is_the_doc_id_when_known(tmp_path):
    records = [{**r, "row": 10 + i} for i, r in enumerate(RECORDS)]
    path = next(p for p in write_lmms_eval_results(tmp_path, RESULTS, {"toy": records}, "m") if "samples" in p.name)
    assert [json.loads(line)["doc_id"] for line in path.read_text().splitlines()] == [10, 11, 13]


def test_rewriting_replaces_earlier_files_only(tmp_path):
    folder = tmp_path / "lmms-eval" / "org__ckpt"
    folder.mkdir(parents=True)
    for name in ("20200101_000000_results.json", "20200101_000000_samples_toy.jsonl", "notes.txt"):
        (folder / name).write_text("{}")
    paths, _, _ = _written(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == sorted([*(p.name for p in paths), "notes.txt"])


def test_run_log_format_lmms_eval_writes_beside_our_files(tmp_path):
    out = tmp_path / "run"
    argv = ["run", "--tasks", "shapes-pope", "--model", "double:pixel", "--limit", "4", "--output-dir", str(out)]
    assert main([*argv, "--log-format", "lmms-eval"]) == 0
    ours = json.loads((out / "results.json").read_text())
    [results_file] = (out / "lmms-eval" / "double__pixel").glob("*_results.json")
    theirs = json.loads(results_file.read_text())
    assert theirs["results"]["shapes-pope"]["accuracy,none"] == ours["tasks"]["shapes-pope"]["metrics"]["accuracy"]
    [samples_file] = results_file.parent.glob("*_samples_shapes-pope.jsonl")
    predictions = [json.loads(line)["prediction"] for line in (out / "samples" / "shapes-pope.jsonl").read_text().splitlines()]
    assert [json.loads(line)["filtered_resps"] for line in samples_file.read_text().splitlines()] == predictions
    plain = tmp_path / "plain"
    assert main(["run", "--tasks", "shapes-pope", "--model", "double:pixel", "--limit", "4", "--output-dir", str(plain)]) == 0
    assert not (plain / "lmms-eval").exists()  # opt-in: default runs are unchanged
