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


def test_fixed_chunks_call_at_one_shape_and_return_the_real_rows_in_order():
    from ddit_eval.model.fixed_shape import in_fixed_chunks

    shapes, told = [], []

    def fn(x, y):
        shapes.append((x.shape[0], y.shape[0]))
        return x * 10, None, y[:, :1]

    call = in_fixed_chunks(fn, 4, on_call=told.append)
    for n in range(1, 10):
        shapes.clear(), told.clear()
        x = torch.arange(n, dtype=torch.float32)
        y = torch.arange(2 * n, dtype=torch.float32).reshape(n, 2)
        a, none, b = call(x, y)
        assert set(shapes) == {(4, 4)} and len(shapes) == -(-n // 4)
        assert told == [min(4, n - s) for s in range(0, n, 4)]
        assert torch.equal(a, x * 10) and none is None and torch.equal(b, y[:, :1])


def _split_run(method, requests, batch):
    out = []
    for start in range(0, len(requests), batch):
        out.extend(method(requests[start:start + batch]))
    return out


@pytest.mark.parametrize("draw", ["fast", "gumbel"])
def test_answers_equal_at_every_batch_size_and_order(tiny_model, draw):
    """Rows of 1, 2, 3, 6 and 8 per batch (and a reversed order) give the same answers: every network
    call runs at the fixed shape, whatever the batch and whichever rows the row cache left stale."""
    model = tiny_model.with_defaults(draw=draw, call_rows=4)
    requests = _answers(steps=12)
    reference = model.answer(requests)
    for batch in (1, 2, 3, 6, 8):
        assert _split_run(model.answer, requests, batch) == reference, batch
    assert model.answer(requests[::-1])[::-1] == reference
    assert len(set(reference)) > 1


def test_images_equal_at_every_batch_size_and_order(tiny_model):
    model = tiny_model.with_defaults(call_rows=4)
    requests = [ImageRequest(id=f"i{i}", prompt=f"a photo of a {c} circle", seed=50 + i, steps=3)
                for i, c in enumerate(["red", "blue", "green", "pink", "red", "yellow", "blue", "purple"])]
    reference = [np.asarray(images[0]) for images in model.generate_images(requests)]
    for batch in (1, 2, 3, 6, 8):
        got = [np.asarray(images[0]) for images in _split_run(model.generate_images, requests, batch)]
        assert all(np.array_equal(a, b) for a, b in zip(got, reference)), batch
    backwards = [np.asarray(images[0]) for images in model.generate_images(requests[::-1])][::-1]
    assert all(np.array_equal(a, b) for a, b in zip(backwards, reference))


def test_every_network_call_runs_at_the_call_shape(tiny_model, monkeypatch):
    model = tiny_model.with_defaults(call_rows=4, vae_rows=2)
    seen = {"transformer": set(), "text_encoder": set(), "vae.encode": set(), "vae.decode": set()}
    hooks = [module.register_forward_pre_hook(lambda m, args, kwargs, name=name: seen[name].add(
        (args or list(kwargs.values()))[0].shape[0]), with_kwargs=True)
        for name, module in [("transformer", model.transformer), ("text_encoder", model.text_encoder)]]
    for name in ("encode", "decode"):
        real = getattr(model.vae, name)
        monkeypatch.setattr(model.vae, name, lambda x, real=real, name=name: seen["vae." + name].add(x.shape[0]) or real(x))
    try:
        model.answer(_answers(n=3, steps=3))
        model.generate_images([ImageRequest(id="i", prompt="a red circle", seed=1, steps=2, num_images=3)])
        model.image_features([shape_image(COLORS[0])])
    finally:
        for hook in hooks:
            hook.remove()
    assert seen == {"transformer": {4}, "text_encoder": {4}, "vae.encode": {2}, "vae.decode": {2}}


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
