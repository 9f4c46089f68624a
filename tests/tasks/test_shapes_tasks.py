"""The five shapes tasks: oracle = full marks, random = chance, requests, and `score` through the CLI."""

import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ddit_eval.api import AnswerRequest, CaptionRequest, ImageRequest
from ddit_eval.cli import main
from ddit_eval.registry import TASKS
from ddit_eval.shapes import Scene, answer_question, describe, render, scene_for_metadata

def task(name, **settings):
    return TASKS.get(name)(**settings)


def records(t, predict):
    return [{"id": s.id, **t.describe_sample(s), "prediction": predict(s)} for s in t.samples()]


def oracle(sample):
    return answer_question(Scene.from_dict(sample.doc["scene"]), sample.doc["question"])


@pytest.mark.parametrize("name, n", [("shapes-vqa", 200), ("shapes-pope", 150), ("shapes-mme", 96),
                                     ("shapes-caption", 100), ("shapes-geneval", 50)])
def test_default_sizes_ids_and_determinism(name, n):
    ids = [s.id for s in task(name).samples()]
    assert len(ids) == n == len(set(ids))
    assert [s.doc for s in task(name).samples()] == [s.doc for s in task(name).samples()]


def test_answer_request_follows_ddit_protocol():
    t = task("shapes-vqa", resolution=32, steps=8)
    sample = next(t.samples())
    request = t.build_request(sample, seed=5)
    assert isinstance(request, AnswerRequest) and request.image.size == (32, 32) and request.steps == 8
    assert request.prompt == f"Q: {sample.doc['question']} Answer the question using a single word or phrase. A: "
    mme = task("shapes-mme")
    assert "Please answer" not in mme.build_request(next(mme.samples()), 0).prompt
    assert t.config()["prompt_template"].startswith("Q: {question}") and t.config()["vqa_rule"] == "official"


def test_other_requests():
    caption = task("shapes-caption")
    assert isinstance(caption.build_request(next(caption.samples()), 1), CaptionRequest)
    geneval = task("shapes-geneval")
    request = geneval.build_request(next(geneval.samples()), 1)
    assert isinstance(request, ImageRequest) and request.num_images == 4 and request.prompt == "a photo of a circle"


@pytest.mark.parametrize("name, key, full", [("shapes-vqa", "accuracy", 100), ("shapes-pope", "accuracy", 100),
                                             ("shapes-mme", "perception", 800)])
def test_oracle_scores_full_marks(name, key, full):
    t = task(name)
    evaluation = t.evaluate(records(t, oracle))
    assert evaluation.metrics[key] == pytest.approx(full)


def test_random_answers_score_near_chance():
    rng = random.Random(0)
    vqa = task("shapes-vqa")
    pool = sorted({oracle(s) for s in vqa.samples()})
    assert vqa.evaluate(records(vqa, lambda s: rng.choice(pool))).metrics["accuracy"] < 30
    pope = task("shapes-pope", num_images=200)
    out = pope.evaluate(records(pope, lambda s: rng.choice(["yes", "no"]))).metrics
    assert 43 < out["accuracy"] < 57 and 43 < out["yes_ratio"] < 57
    mme = task("shapes-mme", num_images=200)
    out = mme.evaluate(records(mme, lambda s: rng.choice(["Yes", "No"]))).metrics
    assert 43 < out["accuracy"] < 57 and 4 * 60 < out["perception"] < 4 * 90  # chance: 50 + 25 per category


@pytest.mark.parametrize("size", [32, 64])  # 32: the tiny model's native resolution
def test_geneval_oracle_images_score_one_and_plot(tmp_path, size):
    t = task("shapes-geneval", prompts_per_tag=3, images_per_prompt=2, results_jsonl=str(tmp_path / "results.jsonl"))
    rng = np.random.default_rng(0)
    recs = []
    for s in t.samples():
        paths = [str(tmp_path / f"{s.id}_{k}.png") for k in range(2)]
        for path in paths:
            render(scene_for_metadata(s.doc["metadata"], rng), size).save(path)
        recs.append({"id": s.id, **t.describe_sample(s), "prediction": paths})
    evaluation = t.evaluate(recs)
    assert evaluation.metrics["overall"] == 1.0 and all(p["correct_images"] == 1.0 for p in evaluation.per_sample)
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert set(rows[0]) == {"filename", "tag", "prompt", "correct", "reason", "metadata", "details"}
    plots = t.plots(recs, evaluation, str(tmp_path / "plots"))
    assert plots and all(Image.open(p).size[0] > 100 for p in plots)


def test_caption_oracle_beats_random_and_notes_subsets():
    t = task("shapes-caption", num_images=20)
    recs = records(t, lambda s: describe(Scene.from_dict(s.doc["scene"])))
    good = t.evaluate(recs)
    bad = t.evaluate(records(t, lambda s: "a photo of a dog on a beach")[:10])
    assert good.metrics["BLEU-1"] > 90 and good.metrics["CIDEr"] > 5 * bad.metrics["CIDEr"]
    assert not good.notes and "10 of 20 images" in bad.notes[0]


# --------------------------------------------------------------------------- the score command


def tricky(answer, rng):
    """A string that means `answer` to a lenient reader, in a form the VQA normalisation must handle."""
    forms = [answer, f"{answer}.", answer.upper(), f"the {answer}", f" {answer}\n", f"{answer}!", f"({answer})",
             f"a {answer}", f"{answer}, {answer}", answer.replace(" ", "-"), f"{answer} ."]
    return rng.choice(forms)


def test_score_cli_reproduces_official_vqa_accuracy(tmp_path):
    """Tricky spellings of the right answers plus tricky strings: `score` equals the official loop."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "metrics"))
    from vqa_reference import OfficialVQAEval

    t, rng = task("shapes-vqa", num_questions=300), random.Random(2)
    samples = list(t.samples())
    preds = {s.id: tricky(oracle(s), rng) if i % 3 else rng.choice(["2.", "Two", "none", "the 3", "10.5", "isnt",
                                                                       "yes!", "Top-Left", "a red one", "1,000"])
             for i, s in enumerate(samples)}
    (tmp_path / "preds.jsonl").write_text("".join(json.dumps({"id": i, "prediction": p}) + "\n" for i, p in preds.items()))
    assert main(["score", "--task", "shapes-vqa", "--set", "num_questions=300", "--predictions",
                 str(tmp_path / "preds.jsonl"), "--output-dir", str(tmp_path / "out")]) == 0
    got = json.loads((tmp_path / "out/results.json").read_text())["tasks"]["shapes-vqa"]["metrics"]["accuracy"]
    official = OfficialVQAEval()
    expected = 100 * np.mean([official.question_accuracy(preds[s.id], s.doc["answers"]) for s in samples])
    assert got == pytest.approx(expected, abs=1e-9) and 20 < got < 100


@pytest.mark.parametrize("name", ["shapes-vqa", "shapes-pope", "shapes-mme", "shapes-caption", "shapes-geneval"])
def test_score_command_for_each_task(name, tmp_path):
    t = task(name, **({"prompts_per_tag": 2} if name == "shapes-geneval" else {}))
    rng = random.Random(1)
    lines = []
    for s in t.samples():
        if name == "shapes-geneval":
            path = tmp_path / f"{s.id}.png"
            render(scene_for_metadata(s.doc["metadata"], np.random.default_rng(0)), 64).save(path)
            prediction = [path.name]
        elif name == "shapes-caption":
            prediction = describe(Scene.from_dict(s.doc["scene"]))
        else:
            prediction = tricky(oracle(s), rng)
        lines.append(json.dumps({"id": s.id, "prediction": prediction}))
    (tmp_path / "preds.jsonl").write_text("\n".join(lines) + "\n")
    extra = ["--set", "prompts_per_tag=2"] if name == "shapes-geneval" else []
    code = main(["score", "--task", name, "--predictions", str(tmp_path / "preds.jsonl"), "--output-dir",
                 str(tmp_path / "out"), *extra])
    assert code == 0
    metrics = json.loads((tmp_path / "out/results.json").read_text())["tasks"][name]["metrics"]
    assert metrics[t.primary_metric] > 0
