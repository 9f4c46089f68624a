"""Probe features of a D-DiT: the image stream after one joint block, pooled (feature-probe's `ddit` encoder).

Kept apart from sampling: a probe reads the transformer half-way and stops, it never samples.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import torch
from PIL import Image

from .fixed_shape import in_fixed_chunks

if TYPE_CHECKING:
    from .backend import DDiTModel

POOLINGS = ("mean", "max")
CONTEXTS = ("masked", "empty")


class _FeaturesCaptured(Exception):
    """Raised by the forward hook to stop the forward once the wanted block has run."""


@torch.inference_mode()
def image_features(model: "DDiTModel", images: Sequence[Image.Image], layer: int = -1, pooling: str = "mean",
                   context: str = "masked") -> torch.Tensor:
    """Image-stream hidden states after joint block `layer` (negative counts from the end), pooled
    over the image tokens ("mean" or "max"): (B, D) fp32 on the CPU.

    The image enters as in captioning (VAE posterior mean, timestep 0); the text stream holds
    `context`: "masked" (every position the mask token, D-DiT's first captioning step) or "empty"
    (T5 of the empty prompt).  The forward stops after the block; calls run at the fixed shape
    (`fixed_shape.py`), so a row's features do not depend on its batch.
    """
    blocks = model.transformer.transformer_blocks
    if not -len(blocks) <= layer < len(blocks) or pooling not in POOLINGS or context not in CONTEXTS:
        raise ValueError(f"image_features: layer {layer} (the model has {len(blocks)} blocks), pooling {pooling!r} "
                         f"(mean or max) or context {context!r} (masked or empty) is out of range")
    codec, window = model.codec, model.text_window
    latents = codec.encode_images(codec.preprocess(images, model.defaults.resolution))
    ids = [[codec.mask_token_id] * window] if context == "masked" else codec.tokenize([""], window)
    hidden = codec.encode_text(torch.tensor(ids, device=model.device)).expand(len(images), -1, -1)
    zero = torch.zeros(len(images), device=model.device, dtype=model.dtype)
    stream = _image_stream_after(model.transformer, blocks[layer])
    tokens = in_fixed_chunks(stream, model.defaults.call_rows)(latents, hidden, zero).float()
    return (tokens.mean(dim=1) if pooling == "mean" else tokens.amax(dim=1)).cpu()


def _image_stream_after(transformer, block):
    """A function of (latents, text states, timesteps) -> the image stream after `block`, the rest skipped."""

    def run(latents, hidden, timestep):
        captured = {}

        def stop(module, args, output):
            captured["image"] = output[1]  # a joint block returns (text, image)
            raise _FeaturesCaptured

        handle = block.register_forward_hook(stop)
        try:
            transformer(hidden_states=latents, encoder_hidden_states=hidden, timestep=timestep)
        except _FeaturesCaptured:
            pass
        finally:
            handle.remove()
        return captured["image"]

    return run
