"""`prepare` (run by the loader threads) moves resizing off the model thread without changing any output."""

import numpy as np
import torch

from ddit_eval.api import AnswerRequest, CaptionRequest
from tiny_inputs import shape_image


def test_prepared_image_preprocesses_to_the_same_tensor(tiny_model):
    resolution = tiny_model.defaults.resolution
    for size in [(40, 32), (32, 40), (97, 53), (resolution, resolution)]:
        image = shape_image(size=size, box=(4, 4, 20, 20))
        prepared = tiny_model.prepare(CaptionRequest(id="x", image=image, seed=0)).image
        assert prepared.size == (resolution, resolution)
        assert torch.equal(tiny_model.codec.preprocess([image], resolution), tiny_model.codec.preprocess([prepared], resolution))


def test_answers_are_identical_with_and_without_prepare(tiny_model):
    requests = [AnswerRequest(id=f"q{i}", image=shape_image(size=(40 + 7 * i, 32)), prompt="Q: what color? A: ",
                              seed=i, steps=4, answer_length=4) for i in range(4)]
    prepared = [tiny_model.prepare(r) for r in requests]
    assert tiny_model.answer(requests) == tiny_model.answer(prepared)


def test_prepare_leaves_requests_without_images_alone(tiny_model):
    from ddit_eval.api import ImageRequest

    request = ImageRequest(id="g", prompt="a red circle", seed=0)
    assert tiny_model.prepare(request) is request
    image = shape_image()
    before = np.asarray(image).copy()
    tiny_model.prepare(CaptionRequest(id="x", image=image, seed=0))
    assert np.array_equal(np.asarray(image), before)  # the caller's image is not modified
