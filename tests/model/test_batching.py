"""A row's output depends only on its own request: batch 1 == batch 8, cache on == cache off."""

import numpy as np
import pytest
import torch

from ddit_eval.api import AnswerRequest, CaptionRequest, ImageRequest

from tiny_inputs import shape_image

COLORS = [(220, 40, 40), (40, 70, 220), (40, 180, 60), (235, 220, 40), (140, 50, 180), (245, 140, 30), (15, 15, 15), (245, 245, 245)]
QUESTIONS = ["What color is the circle?", "Is there a blue square in the image?", "How many triangles are there?",
             "Is the circle left of the square?", "What color is the square?", "Is there a red circle?",
             "How many circles are there?", "What shape is shown?"]


def _prompt(q):
    return f"Q: {q} Answer the question using a single word or phrase. A: "


def _answers(n=8, **kw):
    return [AnswerRequest(id=f"q{i}", image=shape_image(COLORS[i % 8]), prompt=_prompt(QUESTIONS[i % 8]), seed=1000 + i, **kw)
            for i in range(n)]


def _one_by_one(method, requests):
    return [method([r])[0] for r in requests]


@pytest.mark.parametrize("draw", ["fast", "gumbel"])
def test_answers_batch1_equals_batch8(tiny_model, draw):
    model = tiny_model.with_defaults(draw=draw)
    requests = _answers(steps=12)
    batched = model.answer(requests)
    assert batched == _one_by_one(model.answer, requests)
    assert len(set(batched)) > 1  # rows really differ


def test_answers_with_short_answer_length(tiny_model):
    requests = _answers(steps=8, answer_length=4)
    batched = tiny_model.answer(requests)
    assert batched == _one_by_one(tiny_model.answer, requests)
    model = tiny_model.with_defaults()
    model.answer(requests[:1])
    q_len = len(model.tokenize([requests[0].prompt], model.text_length, pad=False, eos=False)[0])
    assert model.rows["text_positions"] == model.rows["text_encoder"] * (q_len + 4)


def test_captions_batch1_equals_batch8(tiny_model):
    requests = [CaptionRequest(id=f"c{i}", image=shape_image(COLORS[i]), seed=7 + i, steps=10, length=24) for i in range(8)]
    batched = tiny_model.caption(requests)
    assert batched == _one_by_one(tiny_model.caption, requests)
    assert all(isinstance(c, str) and "</s>" not in c for c in batched)


def test_images_batch1_equals_batch8(tiny_model, monkeypatch):
    """Each image's noise and pixels are bit-identical whatever its batch (own seed per image)."""
    import ddit_eval.model.backend as backend

    seen = []
    real_noise = backend.initial_noise
    monkeypatch.setattr(backend, "initial_noise", lambda seeds, shape: seen.append(real_noise(seeds, shape)) or seen[-1])
    requests = [ImageRequest(id=f"i{i}", prompt=f"a photo of a {c} circle", seed=50 + i, num_images=2, steps=4)
                for i, c in enumerate(["red", "blue", "green", "pink"])]
    batched = tiny_model.generate_images(requests)
    single = [tiny_model.generate_images([ImageRequest(**{**r.__dict__, "num_images": 1})])[0][0] for r in requests]
    assert [len(x) for x in batched] == [2] * 4
    assert seen[0].shape[0] == 8 and all(torch.equal(seen[0][2 * i], seen[1 + i][0]) for i in range(4))
    for images, first in zip(batched, single):
        a, b, other = (np.asarray(x).astype(int) for x in (images[0], first, images[1]))
        assert a.shape == (32, 32, 3)
        assert np.array_equal(a, b)
        assert np.abs(a - other).mean() > 5  # own seed per image


def test_small_batches_are_padded_to_the_batch_invariant_size(tiny_model):
    """Below MIN_ROWS rows the CPU kernels round differently; the padded call gives row outputs equal
    to those of a large batch, and returns only the real rows."""
    from ddit_eval.model.backend import MIN_ROWS, padded_call

    transformer = tiny_model.transformer
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, transformer.config.in_channels, 16, 16, generator=g)
    c = torch.randn(8, 12, transformer.config.joint_attention_dim, generator=g)
    t = torch.rand(8, generator=g) * 1000
    with torch.inference_mode():
        big = transformer(hidden_states=x, encoder_hidden_states=c, timestep=t)
        for n in range(1, MIN_ROWS):
            out = padded_call(transformer)(x[:n], c[:n], t[:n])
            assert [o.shape[0] for o in out] == [n, n]
            assert all(torch.equal(o, b[:n]) for o, b in zip(out, big))


def test_row_cache_changes_nothing_and_saves_rows(tiny_model):
    requests = _answers(steps=32)
    results, rows = {}, {}
    for cache in ["none", "batch", "row"]:
        model = tiny_model.with_defaults(cache=cache)
        results[cache] = model.answer(requests)
        rows[cache] = model.rows["transformer"]
    assert results["none"] == results["batch"] == results["row"]
    assert rows["none"] == 8 * 33
    assert rows["row"] < rows["batch"] <= rows["none"]


def test_settings_are_honoured(tiny_model):
    model = tiny_model.with_defaults()
    model.answer(_answers(n=2, steps=5))
    assert model.rows["transformer"] <= 2 * 6
    image = model.generate_images([ImageRequest(id="r", prompt="a photo", seed=1, steps=2, resolution=64)])[0][0]
    assert image.size == (64, 64)
