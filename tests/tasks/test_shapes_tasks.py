"""The five shapes tasks: oracle = full marks, random = chance, requests, and `score` through the CLI."""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ddit_eval.api import AnswerRequest, CaptionRequest, ImageRequest
from ddit_eval.cli import main
from ddit_eval.metrics.vqa import answer_texts
from ddit_eval.registry import TASKS
from ddit_eval.shapes import Scene, answer_question, describe, render, scene_for_metadata
from helpers.vqa_reference import PUNCT, OfficialVQAEval  # the independent transcription
from helpers.yesno_reference import mme_scores, pope_answer


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


@pytest.mark.parametrize("name", ["shapes-vqa", "shapes-pope", "shapes-mme", "shapes-caption", "shapes-geneval"])
def test_config_names_the_dataset_and_its_revision(name):
    """results.json must say which data was scored: the generator and its version."""
    import ddit_eval.shapes

    config = task(name).config()
    assert config["dataset"] == {"id": "ddit_eval.shapes", "revision": ddit_eval.shapes.WORLD_VERSION}
    assert json.loads(json.dumps(config)) == config  # recorded as is


def test_documents_have_the_real_benchmarks_columns():
    """Each shapes task's documents carry the columns of its real counterpart (VQAv2, POPE, MME, COCO, GenEval)."""
    vqa = next(task("shapes-vqa").samples()).doc
    assert {"question_id", "image_id", "question", "answers", "multiple_choice_answer", "answer_type",
            "question_type"} <= set(vqa)
    assert [a["answer_id"] for a in vqa["answers"]] == list(range(1, 11))
    assert all(set(a) == {"answer", "answer_confidence", "answer_id"} for a in vqa["answers"])
    texts = answer_texts(vqa["answers"])
    assert vqa["multiple_choice_answer"] == max(texts, key=texts.count)
    assert {s.doc["answer_type"] for s in task("shapes-vqa").samples()} == {"yes/no", "number", "other"}
    pope = list(task("shapes-pope").samples())
    assert {"question_id", "question", "answer", "image_source", "category"} <= set(pope[0].doc)
    assert len({s.doc["question_id"] for s in pope}) == len(pope)
    assert {s.doc["category"] for s in pope} == {"random", "popular", "adversarial"}
    assert {s.doc["answer"] for s in pope} == {"yes", "no"}
    mme = list(task("shapes-mme").samples())
    assert {"question_id", "question", "answer", "category"} <= set(mme[0].doc)
    per_image = {}
    for s in mme:
        per_image.setdefault(s.doc["question_id"], []).append(s.doc["answer"])
    assert all(sorted(v) == ["No", "Yes"] for v in per_image.values()) and len(per_image) == 48
    assert all(s.doc["question"].endswith("Please answer yes or no.") for s in mme)
    assert {s.doc["category"] for s in mme} == {"existence", "count", "position", "color"}
    caption = next(task("shapes-caption").samples()).doc
    assert caption["question_id"].endswith(".png") and len(caption["answer"]) == 5
    meta = [s.doc["metadata"] for s in task("shapes-geneval").samples()]
    assert [m["tag"] for m in meta] == sorted((m["tag"] for m in meta), key=["single_object", "two_object", "counting",
                                                                             "colors", "position", "color_attr"].index)
    for m in meta:
        assert set(m) <= {"tag", "prompt", "include", "exclude"}
        if m["tag"] == "counting":
            n = m["include"][0]["count"]
            assert n in (2, 3, 4) and m["exclude"] == [{"class": m["include"][0]["class"], "count": n + 1}]
        if m["tag"] == "position":
            assert m["include"][1]["position"][0] in ("left of", "right of", "above", "below")
            assert m["include"][1]["position"][1] == 0


def test_answer_request_follows_ddit_protocol():
    t = task("shapes-vqa", resolution=32, steps=8)
    sample = next(t.samples())
    request = t.build_request(sample, seed=5)
    assert isinstance(request, AnswerRequest) and request.image.size == (32, 32) and request.steps == 8
    assert request.prompt == f"Q: {sample.doc['question']} Answer the question using a single word or phrase. A: "
    mme = task("shapes-mme")
    assert "Please answer" not in mme.build_request(next(mme.samples()), 0).prompt
    assert t.config()["prompt_template"].startswith("Q: {question}") and t.config()["vqa_rule"] == "official"



@pytest.mark.parametrize("name", ["shapes-vqa", "shapes-pope", "shapes-mme"])
def test_answer_tasks_record_the_hub_tasks_protocol_and_scoring(name):
    """One answer half: `protocol` is the prompt protocol, the scoring rules are recorded beside it."""
    hub = {"shapes-vqa": "vqav2", "shapes-pope": "pope", "shapes-mme": "mme"}[name]
    config, hub_class = task(name).config(), TASKS.get(hub)
    assert (config["protocol"], config["answer_length"], config["text_window"]) == ("ddit", None, 128)
    assert {"protocol", "steps", "answer_length", "prompt_template"} <= set(task(name).settings_type.names())
    for rule in ("vqa_rule", "parse_rule", "drop_yes_no_suffix"):
        assert (rule in config) == (rule in hub_class.settings_type.names())
    lmms = task(name, protocol="lmms-eval")
    request = lmms.build_request(next(lmms.samples()), 0)
    assert request.prompt.endswith("\nAnswer the question using a single word or phrase.")
    assert request.answer_length == hub_class.protocols["lmms-eval"].answer_length


@pytest.mark.parametrize("name, unparsed", [("shapes-vqa", False), ("shapes-pope", True), ("shapes-mme", True),
                                            ("shapes-caption", False)])
def test_empty_answers_are_reported_like_the_hub_tasks(name, unparsed):
    """8 answers, the 1st empty and the 4th only T5 specials: empty_answers = 2 / 8 = 25%, noted by id; the
    yes/no tasks also count them unparsed (the 6 oracle answers say yes or no): 25%."""
    t = task(name)
    recs = records(t, lambda s: describe(Scene.from_dict(s.doc["scene"])) if name == "shapes-caption" else oracle(s))[:8]
    recs[0]["prediction"], recs[3]["prediction"] = "", "</s><pad>"
    evaluation = t.evaluate(recs)
    assert evaluation.metrics["empty_answers"] == 25.0 and "empty_answers" in evaluation.lower_is_better
    assert ("unparsed_answers" in evaluation.metrics) == unparsed
    if unparsed:
        assert evaluation.metrics["unparsed_answers"] == 25.0
    note = next(n for n in evaluation.notes if n.startswith("empty answers"))
    assert note.startswith("empty answers: 2 of 8 (25.0%)") and recs[0]["id"] in note and recs[3]["id"] in note
    assert task(name).evaluate(records(t, lambda s: "yes")[:4]).metrics["empty_answers"] == 0.0

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
    from ddit_eval.metrics.vqa import vqa_accuracy

    rng = random.Random(0)
    vqa = task("shapes-vqa")
    pool = sorted({oracle(s) for s in vqa.samples()})
    chance = 100 * np.mean([np.mean([vqa_accuracy(c, s.doc["answers"]) for c in pool]) for s in vqa.samples()])
    got = vqa.evaluate(records(vqa, lambda s: rng.choice(pool))).metrics["accuracy"]
    assert 1 < chance < 15 and abs(got - chance) < 5  # a uniform guess among the 25 valid answers
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


def tricky_forms(answer):
    """Spellings of `answer` built from the VQA normalisation rules: case, periods, articles, number words,
    whitespace, and each of the 21 punctuation characters glued on, spaced out or joining words."""
    words = {"0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five"}
    forms = [answer, f"{answer}.", answer.upper(), answer.title(), f"the {answer}", f"The {answer}.", f"a {answer}",
             f"an {answer}", f" {answer}\n", f"\t{answer}", f"{answer} .", f"{answer}..", f"{answer}, {answer}",
             f"{answer}s", f"{words.get(answer, answer)}", f"{words.get(answer, answer).capitalize()}.",
             f"{answer}.5", f"1,{answer}", f"{answer} 's", f"{answer}'s"]
    for p in PUNCT:
        forms += [f"{answer}{p}", f"{p}{answer}", f"{answer} {p}", answer.replace(" ", p), f"{answer.replace(' ', p)};{p}"]
    return forms


def tricky(answer, rng):
    """A string that means `answer` to a lenient reader, in a form the VQA normalisation must handle."""
    return rng.choice(tricky_forms(answer))


@pytest.mark.parametrize("rule", ["official", "always-normalise"])
def test_score_cli_reproduces_official_vqa_accuracy(tmp_path, rule):
    """A few hundred distinct tricky predictions built from the rules: `score` equals the official loop,
    overall and per answer type."""
    t, rng = task("shapes-vqa", num_questions=600), random.Random(2)
    samples = list(t.samples())
    preds = {s.id: tricky(oracle(s), rng) if i % 4 else rng.choice(["2.", "Two", "none", "the 3", "10.5", "isnt",
                                                                       "yes!", "Top-Left", "a red one", "1,000"])
             for i, s in enumerate(samples)}
    assert len(set(preds.values())) > 300
    (tmp_path / "preds.jsonl").write_text("".join(json.dumps({"id": i, "prediction": p}) + "\n" for i, p in preds.items()))
    assert main(["score", "--task", "shapes-vqa", "--set", "num_questions=600", "--set", f"vqa_rule={rule}",
                 "--predictions", str(tmp_path / "preds.jsonl"), "--output-dir", str(tmp_path / "out")]) == 0
    got = json.loads((tmp_path / "out/results.json").read_text())["tasks"]["shapes-vqa"]["metrics"]
    official = OfficialVQAEval(always_normalise=rule == "always-normalise")
    expected = official.accuracy([preds[s.id] for s in samples], [[a["answer"] for a in s.doc["answers"]] for s in samples],
                                 [s.doc["answer_type"] for s in samples])
    assert got["accuracy"] == pytest.approx(expected["overall"], abs=1e-9) and 20 < got["accuracy"] < 100
    for kind, key in (("yes/no", "accuracy_yes_no"), ("number", "accuracy_number"), ("other", "accuracy_other")):
        assert got[key] == pytest.approx(expected[kind], abs=1e-9)


def test_python_m_ddit_eval_score(tmp_path):
    """The module entry point itself (not just `main`) scores predictions and exits 0."""
    t = task("shapes-pope")
    lines = [json.dumps({"id": s.id, "prediction": "No, there is not." if s.doc["answer"] == "no" else "Yes"})
             for s in t.samples()]
    (tmp_path / "preds.jsonl").write_text("\n".join(lines) + "\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "ddit_eval", "score", "--task", "shapes-pope", "--predictions",
                           str(tmp_path / "preds.jsonl"), "--output-dir", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "out/results.json").read_text())["tasks"]["shapes-pope"]["metrics"]
    assert metrics["accuracy"] == 100 and metrics["adversarial_f1"] == 100 and metrics["yes_ratio"] == 50


@pytest.mark.parametrize("name", ["shapes-vqa", "shapes-pope", "shapes-mme", "shapes-caption", "shapes-geneval"])
def test_score_command_for_each_task(name, tmp_path):
    t = task(name, **({"prompts_per_tag": 2} if name == "shapes-geneval" else {}))
    rng = random.Random(1)
    samples, predictions = list(t.samples()), {}
    for s in samples:
        if name == "shapes-geneval":
            path = tmp_path / f"{s.id}.png"
            render(scene_for_metadata(s.doc["metadata"], np.random.default_rng(0)), 64).save(path)
            predictions[s.id] = [path.name]
        elif name == "shapes-caption":
            predictions[s.id] = describe(Scene.from_dict(s.doc["scene"]))
        else:
            predictions[s.id] = tricky(oracle(s), rng)
    lines = [json.dumps({"id": i, "prediction": p}) for i, p in predictions.items()]
    (tmp_path / "preds.jsonl").write_text("\n".join(lines) + "\n")
    extra = ["--set", "prompts_per_tag=2"] if name == "shapes-geneval" else []
    code = main(["score", "--task", name, "--predictions", str(tmp_path / "preds.jsonl"), "--output-dir",
                 str(tmp_path / "out"), *extra])
    assert code == 0
    metrics = json.loads((tmp_path / "out/results.json").read_text())["tasks"][name]["metrics"]
    assert metrics[t.primary_metric] == pytest.approx(official_primary(name, samples, predictions), rel=1e-9)


def official_primary(name, samples, predictions):
    """Each shapes task's headline from its benchmark's official scorer (transcribed in helpers, or pycocoevalcap)."""
    preds = [predictions[s.id] for s in samples]
    if name == "shapes-vqa":  # the transcription of vqaEval.py
        return OfficialVQAEval().accuracy(preds, [[a["answer"] for a in s.doc["answers"]] for s in samples])["overall"]
    if name == "shapes-pope":  # accuracy: (TP + TN) / all
        return 100 * np.mean([pope_answer(p) == s.doc["answer"] for s, p in zip(samples, preds)])
    if name == "shapes-mme":  # perception: the sum of acc + acc+ over its categories (all 4 are perception's)
        docs = [s.doc for s in samples]
        scores = mme_scores(preds, [d["answer"] for d in docs], [d["category"] for d in docs], [d["question_id"] for d in docs])
        return sum(scores.values())
    if name == "shapes-caption":  # pycocoevalcap, the official COCO caption code: PTB tokenizer, then CIDEr-D
        from pycocoevalcap.cider.cider import Cider
        from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

        gts = PTBTokenizer().tokenize({s.id: [{"caption": c} for c in s.doc["answer"]] for s in samples})
        res = PTBTokenizer().tokenize({s.id: [{"caption": p}] for s, p in zip(samples, preds)})
        return 100 * Cider().compute_score(gts, res)[0]
    assert name == "shapes-geneval"  # every image is rendered from its prompt's own scene: all correct
    return 1.0


def test_score_caption_without_java_is_one_line(tmp_path, monkeypatch, capsys):
    from ddit_eval.metrics import captioning

    monkeypatch.setattr(captioning.shutil, "which", lambda name: None)
    t = task("shapes-caption", num_images=3)
    (tmp_path / "preds.jsonl").write_text("".join(json.dumps({"id": s.id, "prediction": "a shape"}) + "\n"
                                                  for s in t.samples()))
    code = main(["score", "--task", "shapes-caption", "--set", "num_images=3", "--predictions",
                 str(tmp_path / "preds.jsonl"), "--output-dir", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: captioning metrics need Java") and err.count("\n") == 1
