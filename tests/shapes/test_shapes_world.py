"""The shapes world: determinism, held-out test scenes, references consistent with the oracle, detector."""

import numpy as np
import pytest
from PIL import Image

from ddit_eval.metrics.geneval import GenEvalScore
from ddit_eval.metrics.vqa import vqa_accuracy
from ddit_eval.shapes import (COLOR_RGB, BACKGROUND, MeanColorClassifier, Scene, Shape, ShapeDetector, answer_question,
                              captions, describe, generate_scenes, geneval_metadata, iter_scenes, mme_questions,
                              pope_pairs, render, scene_for_metadata, shape_box, split_of, vqa_items)


def test_generation_is_deterministic_and_splits_are_disjoint():
    train = generate_scenes(0, 400, "train")
    assert [s.signature() for s in train] == [s.signature() for s in generate_scenes(0, 400, "train")]
    test = {s.signature() for seed in (0, 1) for s in generate_scenes(seed, 300, "test")}
    assert not test & {s.signature() for s in train}
    assert all(split_of(s) == "train" for s in train) and len({s.signature() for s in train}) == 400
    assert {len(s.shapes) for s in train} == {1, 2, 3}


def test_render_is_deterministic_and_draws_the_scene():
    scene = Scene((Shape("square", "red", 0), Shape("circle", "blue", 4)))
    image = render(scene, 64)
    assert image.tobytes() == render(Scene.from_dict(scene.to_dict()), 64).tobytes()
    pixels = np.asarray(image)
    x0, y0, x1, y1 = shape_box(0, 64)
    assert (pixels[y0 : y1 + 1, x0 : x1 + 1] == COLOR_RGB["red"]).all()
    assert tuple(pixels[0, 63]) == BACKGROUND and tuple(pixels[32, 32]) == COLOR_RGB["blue"]


def test_scene_rejects_repeated_colors_or_cells():
    with pytest.raises(ValueError):
        Scene((Shape("square", "red", 0), Shape("circle", "red", 4)))


def test_text_references():
    scene = Scene((Shape("circle", "orange", 2), Shape("cross", "green", 6)))
    assert describe(scene) == "an orange circle in the top right and a green cross in the bottom left"
    assert len(captions(scene)) == 5 and len(set(captions(scene))) == 5


@pytest.mark.parametrize("rule", ["official", "always-normalise"])
def test_vqa_references_agree_with_the_oracle(rule):
    """Every generated item: 10 answers, and the oracle's answer scores 1.0 under both rules."""
    rng = np.random.default_rng(0)
    for scene in generate_scenes(3, 60, "test"):
        for item in vqa_items(scene, rng):
            assert len(item.answers) == 10
            assert answer_question(scene, item.question) == item.canonical
            assert vqa_accuracy(item.canonical, item.answers, rule) == 1.0


def test_yes_no_questions_agree_with_the_oracle():
    rng = np.random.default_rng(1)
    scenes = generate_scenes(4, 40, "test")
    for scene in scenes:
        for split in ("random", "popular", "adversarial"):
            for question, answer in pope_pairs(scene, split, rng, {}):
                assert answer_question(scene, question) == answer
        for category in ("existence", "count", "color") + (("position",) if len({s.col for s in scene.shapes}) > 1 else ()):
            answers = [a for _, a in mme_questions(scene, category, rng)]
            assert sorted(answers) == ["No", "Yes"]
            for question, answer in mme_questions(scene, category, rng):
                assert answer_question(scene, question) == answer.lower()


@pytest.mark.parametrize("size", [32, 64])
def test_detector_recovers_rendered_scenes(size):
    detector, colors = ShapeDetector(), MeanColorClassifier()
    for scene in generate_scenes(5, 40, "test"):
        image = render(scene, size)
        dets = detector.detect(image)
        found = sorted(zip([d.label for d in dets], colors.classify(image, dets, ""), [d.box for d in dets]))
        want = sorted((s.kind, s.color, tuple(map(float, shape_box(s.cell, size)))) for s in scene.shapes)
        assert found == want
        assert all(d.score == 1.0 for d in dets)


def test_geneval_oracle_scores_one_and_noise_scores_near_zero():
    rng = np.random.default_rng(0)
    metadata = geneval_metadata(0, 10)
    assert {m["tag"] for m in metadata} == {"single_object", "two_object", "counting", "colors", "position", "color_attr"}
    oracle = GenEvalScore(ShapeDetector(), MeanColorClassifier())
    oracle.update([[render(scene_for_metadata(m, rng), 64) for _ in range(2)] for m in metadata], metadata)
    assert oracle.compute()["overall"] == 1.0
    wrong = GenEvalScore(ShapeDetector(), MeanColorClassifier())
    random_scenes = iter_scenes(9, "train")
    wrong.update([[render(next(random_scenes), 64) for _ in range(2)] for m in metadata], metadata)
    assert wrong.compute()["overall"] < 0.25


@pytest.mark.parametrize("size", [32, 64])
def test_detector_finds_no_object_in_noise(size):
    """Colored noise (what a random-weight generator draws) has clumps of every color; none is an object."""
    rng = np.random.default_rng(size)
    detector = ShapeDetector()
    for _ in range(10):
        cells = rng.integers(0, 256, (size // 2, size // 2, 3), dtype=np.uint8)
        image = Image.fromarray(cells).resize((size, size), Image.NEAREST)
        assert [d for d in detector.detect(image) if d.score >= 0.3] == []
