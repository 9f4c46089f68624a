"""`DDiTModel.image_features`: the image stream after one joint block, pooled, batch-independent."""

import pytest
import torch

from tiny_inputs import shape_image

IMAGES = [shape_image((220, 40, 40)), shape_image((40, 70, 220), size=(32, 44)), shape_image((40, 180, 60))]


def block_outputs(model, images, context_ids):
    """Every block's image-stream output, taken by hooks on a full forward (the reference)."""
    pixels = model.codec.preprocess(images, model.defaults.resolution)
    latents = torch.cat([model.codec.encode_images(pixels[i:i + 1]) for i in range(len(images))])
    hidden = model.codec.encode_text(torch.tensor(context_ids)).expand(len(images), -1, -1)
    outputs = []
    handles = [b.register_forward_hook(lambda m, a, out: outputs.append(out[1])) for b in model.transformer.transformer_blocks]
    with torch.no_grad():
        # the reference pads to 4 rows like the backend's calls, so both take the same kernels
        pad = lambda x: torch.cat([x, x[:1].expand(4 - len(images), *x.shape[1:])])  # noqa: E731
        model.transformer(hidden_states=pad(latents), encoder_hidden_states=pad(hidden), timestep=torch.zeros(4))
    for h in handles:
        h.remove()
    return [o[:len(images)] for o in outputs]


def test_features_are_the_chosen_block_pooled(tiny_model):
    n_blocks = len(tiny_model.transformer.transformer_blocks)
    masked = [[tiny_model.codec.mask_token_id] * tiny_model.text_length]
    reference = block_outputs(tiny_model, IMAGES, masked)
    assert len(reference) == n_blocks
    for layer in (0, -1):
        got = tiny_model.image_features(IMAGES, layer=layer, pooling="mean")
        assert got.shape == (3, tiny_model.transformer.inner_dim) and got.dtype == torch.float32
        torch.testing.assert_close(got, reference[layer].mean(dim=1))
    torch.testing.assert_close(tiny_model.image_features(IMAGES, layer=0, pooling="max"), reference[0].amax(dim=1))
    # the text stream changes the image stream (joint attention): the context setting matters
    empty = tiny_model.image_features(IMAGES, layer=-1, context="empty")
    torch.testing.assert_close(empty, block_outputs(tiny_model, IMAGES, tiny_model.tokenize([""], tiny_model.text_length))[-1].mean(1))
    assert not torch.allclose(empty, tiny_model.image_features(IMAGES, layer=-1))


def test_features_do_not_depend_on_the_batch(tiny_model):
    together = tiny_model.image_features(IMAGES * 2, layer=0)
    alone = torch.cat([tiny_model.image_features([image], layer=0) for image in IMAGES])
    assert torch.equal(together[:3], alone) and torch.equal(together[3:], alone)
    assert not torch.equal(alone[0], alone[1])  # different images, different features


def test_bad_layer_or_pooling_is_refused(tiny_model):
    n_blocks = len(tiny_model.transformer.transformer_blocks)
    for kwargs in ({"layer": n_blocks}, {"layer": -n_blocks - 1}, {"pooling": "sum"}, {"context": "prompt"}):
        with pytest.raises(ValueError, match="image_features"):
            tiny_model.image_features(IMAGES[:1], **kwargs)
