"""feature-probe end to end on tiny random CLIP / GPT-2, the embedded D-DiT and local fixtures."""

import json

import numpy as np
import pytest
import torch

from ddit_eval.errors import UsageError
from ddit_eval.probe.encoders import ImageEncoder, register_encoder
from ddit_eval.registry import TASKS
from ddit_eval.results import read_jsonl
from ddit_eval.runner import RunOptions
from helpers.vqa_reference import OfficialVQAEval

QUESTIONS, IMAGES, TRAIN_IMAGES = 12, 4, 12  # the fixture: 3 questions per VQAv2 image; all Karpathy splits


def official_accuracy(prediction, answers):
    """x100, from the independent transcription of the official vqaEval.py (VQAv2's answer dicts or strings)."""
    texts = [a["answer"] if isinstance(a, dict) else a for a in answers]
    return 100 * OfficialVQAEval().question_accuracy(prediction, texts)


def probe_task(data, gpt2_dir, **changes):
    settings = {"clip_weights": None, "karpathy_file": data["karpathy_file"], "images_dir": data["images_dir"],
                "train_splits": "train,restval,val,test", "decoder_weights": gpt2_dir, "prefix_length": 2,
                "caption_tokens": 8, "train_steps": 12, "train_batch_size": 8, "lr": 3e-3, "warmup_steps": 0,
                "checkpoint_every": 5, "vqa_dataset": data["vqav2"], "shots": "0,3", "icl_pool_size": QUESTIONS,
                "answerer_workers": 2, "infer_batch_size": 8, **changes}
    return TASKS.get("feature-probe")(**settings)


def run(task, model, run_dir):
    task.preflight()
    return task.run_pipeline(model, run_dir, RunOptions(batch_size=8, loader_workers=0)).summary.to_json()


def test_pipeline_with_ddit_and_clip_answers_through_the_endpoint(data, gpt2_dir, clip_dir, ddit_model, chat_endpoint,
                                                                  tmp_path, monkeypatch):
    monkeypatch.setenv("PROBE_TEST_KEY", "sekret")
    task = probe_task(data, gpt2_dir, encoders="ddit,clip", clip_weights=clip_dir, answerer="endpoint",
                      answerer_model="canned-gpt", base_url=chat_endpoint.url, api_key_env="PROBE_TEST_KEY")
    summary = run(task, ddit_model, tmp_path)

    # The endpoint always replies "no" (first line): yes/no questions (answers 9 x "no", 1 x "yes") score
    # 100, colour and count questions 0, so every encoder and shot count scores exactly 1/3.
    metrics = summary["metrics"]
    for encoder in ("ddit", "clip"):
        for k in (0, 3):
            assert metrics[f"{encoder}/vqa_accuracy_{k}shot"] == pytest.approx(100 / 3)
            assert metrics[f"{encoder}/vqa_accuracy_{k}shot_yes_no"] == 100.0
            assert metrics[f"{encoder}/vqa_accuracy_{k}shot_other"] == metrics[f"{encoder}/vqa_accuracy_{k}shot_number"] == 0.0
    assert summary["n"] == QUESTIONS and summary["errors"] == 0 and summary["primary"] == "ddit/vqa_accuracy_0shot"

    # D-DiT's own answers, scored on the same questions by the official rules
    records = read_jsonl(tmp_path / "samples" / "feature-probe.jsonl")
    direct = [official_accuracy(r["predictions"]["ddit_direct"], r["answers"]) for r in records]
    assert metrics["ddit_direct_vqa_accuracy"] == pytest.approx(np.mean(direct))
    assert [r["scores"]["ddit_direct_vqa_accuracy"] for r in records] == pytest.approx(direct)

    # one request per (encoder, shots, question), with the key from the environment, the exact prompt recorded
    requests = chat_endpoint.requests
    assert len(requests) == 2 * 2 * QUESTIONS
    assert {r["auth"] for r in requests} == {"Bearer sekret"} and {r["path"] for r in requests} == {"/v1/chat/completions"}
    assert {(r["body"]["model"], r["body"]["temperature"]) for r in requests} == {("canned-gpt", 0)}
    prompts = summary["probe"]["prompts"]
    assert prompts["clip/3shot"]["prompt"].count("\nAnswer:") == 4 and prompts["ddit/0shot"]["prompt"].count("\nAnswer:") == 1
    assert {p["prompt"] for p in prompts.values()} <= {r["body"]["messages"][0]["content"] for r in requests}
    assert summary["probe"]["answerer"] == {**task.config()["answerer"]} and "not the paper's" in " ".join(summary["notes"])

    # in-context examples: 3, drawn from the pool, never about the query's image, the same on every draw
    image_of = {r["id"]: r["image_id"] for r in records}
    answers = read_jsonl(tmp_path / "samples" / "feature-probe" / "clip" / "answers-3shot.jsonl")
    for line in answers:
        assert len(line["examples"]) == 3 and all(image_of[e] != image_of[line["id"]] for e in line["examples"])
    ddit_lines = read_jsonl(tmp_path / "samples" / "feature-probe" / "ddit" / "answers-3shot.jsonl")
    assert [line["examples"] for line in ddit_lines] == [line["examples"] for line in answers]

    encoders = summary["probe"]["encoders"]
    assert encoders["clip"]["features_computed"] == TRAIN_IMAGES + IMAGES == encoders["ddit"]["features_computed"]
    assert encoders["ddit"]["identity"]["layer"] == 4 and encoders["clip"]["identity"]["fingerprint"]
    assert (tmp_path / "samples" / "feature-probe" / "clip" / "decoder" / "final.pt").exists()

    # A second run resumes everything: no feature computed, no training, no request, same numbers.
    again = run(probe_task(data, gpt2_dir, encoders="ddit,clip", clip_weights=clip_dir, answerer="endpoint",
                           answerer_model="canned-gpt", base_url=chat_endpoint.url, api_key_env="PROBE_TEST_KEY"),
                ddit_model, tmp_path)
    assert len(chat_endpoint.requests) == 2 * 2 * QUESTIONS
    assert {e["features_computed"] for e in again["probe"]["encoders"].values()} == {0}
    assert again["metrics"] == metrics


@register_encoder
class MeanColour(ImageEncoder):
    """A user's encoder: the mean RGB of the image (counts its calls)."""

    name = "test-mean-colour"
    calls = 0

    @classmethod
    def from_context(cls, context):
        return cls()

    def identity(self):
        return {"encoder": self.name, "version": 1}

    def encode(self, images):
        MeanColour.calls += len(images)
        return torch.tensor(np.stack([np.asarray(i.convert("RGB"), dtype=np.float32).mean((0, 1)) / 255 for i in images]))


def vqav2_run(folder, predictions: dict):
    """A finished `vqav2` run folder holding `predictions` (question id -> answer)."""
    (folder / "samples").mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({"tasks": {"vqav2": {"metrics": {"accuracy": 1.0}, "n": 2}}}))
    lines = [json.dumps({"id": qid, "prediction": answer}) for qid, answer in predictions.items()]
    (folder / "samples" / "vqav2.jsonl").write_text("\n".join(lines) + "\n")
    return str(folder)


def test_user_encoder_local_answerer_and_shared_feature_cache(data, gpt2_dir, tmp_path):
    cache = tmp_path / "cache"
    # D-DiT's answers from an earlier vqav2 run: "no" to a 9 x no / 1 x yes question scores 100; "blue" to
    # 8 x red / light red / blue scores 30 (one match: 9 of 10 leave-one-out subsets give 1/3)
    direct_run = vqav2_run(tmp_path / "vqav2-run", {"262148001": "no", "262148000": "blue"})
    settings = {"encoders": "test-mean-colour", "answerer": "hf", "answerer_model": gpt2_dir, "shots": "0,2",
                "direct_vqa": "from-run", "direct_vqa_run": direct_run, "cache_dir": str(cache), "answer_tokens": 3}
    MeanColour.calls = 0
    first = run(probe_task(data, gpt2_dir, **settings), None, tmp_path / "a")
    assert MeanColour.calls == TRAIN_IMAGES + IMAGES and first["probe"]["encoders"]["test-mean-colour"]["features_computed"] == 16
    second = run(probe_task(data, gpt2_dir, **settings), None, tmp_path / "b")  # another run folder, the same cache
    assert MeanColour.calls == TRAIN_IMAGES + IMAGES and second["probe"]["encoders"]["test-mean-colour"]["features_computed"] == 0
    assert second["metrics"] == first["metrics"]  # same features, same seed: the same decoder and answers

    answerer = first["probe"]["answerer"]
    assert answerer["kind"] == "hf" and answerer["model"] == gpt2_dir and len(answerer["fingerprint"]) == 64
    records = read_jsonl(tmp_path / "a" / "samples" / "feature-probe.jsonl")
    assert len(records) == QUESTIONS and first["metrics"]["ddit_direct_vqa_accuracy"] == pytest.approx(65.0)
    assert sum("ddit_direct" in r["predictions"] for r in records) == 2
    for r in records:  # each answer is scored with the official VQA accuracy
        for k in (0, 2):
            expected = official_accuracy(r["predictions"][f"test-mean-colour/{k}shot"], r["answers"])
            assert r["scores"][f"test-mean-colour/vqa_accuracy_{k}shot"] == pytest.approx(expected)
    zero_shot = read_jsonl(tmp_path / "a" / "samples" / "feature-probe" / "test-mean-colour" / "answers-0shot.jsonl")
    captions = {c["id"]: c["caption"] for c in read_jsonl(tmp_path / "a" / "samples" / "feature-probe" / "test-mean-colour" / "captions.jsonl")}
    assert set(captions) == {f"vqav2/{r['image_id']}" for r in records}
    assert all(r["captions"] == {"test-mean-colour": captions[f"vqav2/{r['image_id']}"]} for r in records)
    first_question = next(r for r in records if r["id"] == zero_shot[0]["id"])
    assert zero_shot[0]["prompt"].endswith(f"Caption: {captions['vqav2/' + str(first_question['image_id'])]}\n"
                                           f"Question: {first_question['question']}\nAnswer:")


def test_bad_settings_fail_in_one_line_before_any_work(data, gpt2_dir, tmp_path, monkeypatch):
    with pytest.raises(UsageError, match="did you mean clip"):
        probe_task(data, gpt2_dir, encoders="clipp")
    with pytest.raises(UsageError, match="shot counts"):
        probe_task(data, gpt2_dir, shots="0,x")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UsageError, match=r"\$OPENAI_API_KEY is not set"):
        probe_task(data, gpt2_dir).preflight()
    with pytest.raises(UsageError, match="karpathy_file"):
        probe_task(data, gpt2_dir, karpathy_file=None, answerer="hf").preflight()
    with pytest.raises(UsageError, match="icl_pool_size"):  # 4 pool questions, 3 of them about each query's image
        run(probe_task(data, gpt2_dir, encoders="test-mean-colour", answerer="hf", icl_pool_size=4, shots="0,32"), None, tmp_path)
    assert not (tmp_path / "samples" / "feature-probe" / "features").exists()
    with pytest.raises(UsageError, match="needs a D-DiT checkpoint"):
        run(probe_task(data, gpt2_dir, encoders="ddit", answerer="hf"), None, tmp_path)


def test_results_name_the_paper_answerer_and_templates(data, gpt2_dir):
    config = probe_task(data, gpt2_dir, answerer="hf", answerer_model=gpt2_dir).config()
    assert config["paper_answerer"].startswith("GPT-4") and config["answerer"]["kind"] == "hf"
    assert set(config["prompt_templates"]) >= {"instruction", "example", "query"}
    assert json.loads(json.dumps(config)) == config


def test_feature_probe_runs_from_the_command_line_and_resumes(data, gpt2_dir, tmp_path):
    """`run --tasks feature-probe`: the pipeline takes the place of the runner; report and resume as any task."""
    from ddit_eval.cli import main

    settings = {"encoders": "test-mean-colour", "answerer": "hf", "answerer_model": gpt2_dir, "shots": "0",
                "direct_vqa": "skip", "answer_tokens": 2, "clip_weights": None, "karpathy_file": data["karpathy_file"],
                "images_dir": data["images_dir"], "train_splits": "train,restval,val,test", "decoder_weights": gpt2_dir,
                "prefix_length": 2, "caption_tokens": 8, "train_steps": 4, "train_batch_size": 8, "warmup_steps": 0,
                "vqa_dataset": data["vqav2"], "icl_pool_size": QUESTIONS}
    args = ["run", "--tasks", "feature-probe", "--model", "double:pixel", "--output-dir", str(tmp_path / "run")]
    args += [w for key, value in settings.items() if value is not None for w in ("--set", f"feature-probe.{key}={value}")]
    assert main(args) == 0
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    summary = results["tasks"]["feature-probe"]
    assert summary["n"] == QUESTIONS and "test-mean-colour/vqa_accuracy_0shot" in summary["metrics"]
    assert "feature-probe" in (tmp_path / "run" / "report.md").read_text()
    MeanColour.calls = 0
    assert main(args) == 0 and MeanColour.calls == 0  # resumed: nothing recomputed
    again = json.loads((tmp_path / "run" / "results.json").read_text())["tasks"]["feature-probe"]
    assert again["metrics"] == summary["metrics"]
