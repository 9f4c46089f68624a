"""Image encoders of the feature probe, pluggable by name.

An encoder turns PIL images into one feature vector each, (B, D) float32 on the CPU, and
describes itself in `identity()`: a JSON dict that names everything its features depend on
(weights and their fingerprint, layer, pooling, dtype).  The feature cache is keyed by it.

Built in: `ddit` (the D-DiT/SD3 transformer's image stream, from the loaded `--model`) and
`clip` (CLIP ViT-L/14's projected image embedding, as ClipCap uses it).  Register more with
`@register_encoder` on an `ImageEncoder` subclass; `from_context` gets the model, the task
settings and the device.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Sequence

import torch
from PIL import Image

from ddit_eval.environment import offline as offline_mode
from ddit_eval.errors import UsageError
from ddit_eval.registry import Registry


@dataclass(frozen=True)
class EncoderContext:
    """What an encoder is built from: the run's model (None without one), the task settings and the device."""

    model: Any
    settings: Any  # the task's ProbeSettings (frozen; fields by attribute)
    device: torch.device


class ImageEncoder:
    """Base class of a registered encoder: `name`, `from_context`, `identity`, `encode`."""

    name: ClassVar[str]

    @classmethod
    def from_context(cls, context: EncoderContext) -> "ImageEncoder":
        raise NotImplementedError

    def identity(self) -> dict:
        """JSON: everything the features depend on (the cache key)."""
        raise NotImplementedError

    def encode(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """(B, D) float32 on the CPU, one row per image, independent of the other rows."""
        raise NotImplementedError


ENCODERS: Registry = Registry("encoder", ImageEncoder)
register_encoder = ENCODERS.register  # class decorator


def build_encoder(name: str, context: EncoderContext) -> ImageEncoder:
    return ENCODERS.get(name).from_context(context)


def weights_fingerprint(path_or_id: str, config: Any = None) -> dict:
    """Where weights came from, cheaply: a local folder's content fingerprint, or a hub commit."""
    from ddit_eval.data import folder_fingerprint

    path = Path(str(path_or_id)).expanduser()
    if path.is_dir():
        return {"fingerprint": folder_fingerprint(path)}
    return {"commit": getattr(config, "_commit_hash", None)}


# ----------------------------------------------------------------------------- ddit


@register_encoder
class DDiTEncoder(ImageEncoder):
    """The loaded D-DiT's image-stream hidden states after one joint block (`ddit_eval.model.features`)."""

    name = "ddit"

    def __init__(self, model: Any, layer: int, pooling: str, context: str) -> None:
        from ddit_eval.model import DDiTModel

        if not isinstance(model, DDiTModel):
            raise UsageError(f"encoder 'ddit' needs a D-DiT checkpoint as --model, not {getattr(model, 'name', model)!r}")
        blocks = len(model.transformer.transformer_blocks)
        if not -blocks <= layer < blocks:
            raise UsageError(f"feature-probe: ddit_layer={layer} is outside the model's {blocks} blocks (0..{blocks - 1} or negative)")
        self.model, self.layer, self.pooling, self.context = model, layer % blocks, pooling, context

    @classmethod
    def from_context(cls, context: EncoderContext) -> "DDiTEncoder":
        s = context.settings
        return cls(context.model, s.ddit_layer, s.ddit_pooling, s.ddit_context)

    def identity(self) -> dict:
        from ddit_eval.model.loader import resolve_checkpoint

        mask_row = self.model.text_encoder.get_input_embeddings().weight[self.model.codec.mask_token_id]
        return {"encoder": self.name, "checkpoint": self.model.checkpoint,
                **weights_fingerprint(str(resolve_checkpoint(self.model.checkpoint))),
                "mask_embedding_sha256": hashlib.sha256(mask_row.detach().float().cpu().numpy().tobytes()).hexdigest(),
                "layer": self.layer, "pooling": self.pooling, "context": self.context, "posterior": "mean", "timestep": 0,
                "resolution": self.model.defaults.resolution, "dtype": str(self.model.dtype).removeprefix("torch."),
                "device_type": self.model.device.type}

    def encode(self, images: Sequence[Image.Image]) -> torch.Tensor:
        from ddit_eval.model.features import image_features

        return image_features(self.model, images, layer=self.layer, pooling=self.pooling, context=self.context)


# ----------------------------------------------------------------------------- clip


@register_encoder
class ClipEncoder(ImageEncoder):
    """CLIP's projected image embedding (`get_image_features`), the feature ClipCap decodes from."""

    name = "clip"

    def __init__(self, weights: str, device: torch.device) -> None:
        from transformers import CLIPImageProcessor, CLIPModel

        try:
            model = CLIPModel.from_pretrained(weights)
            self.processor = CLIPImageProcessor.from_pretrained(weights)
        except (OSError, ValueError) as exc:
            offline = " (offline: download it once, or pass a local folder)" if offline_mode() else ""
            raise UsageError(f"feature-probe: cannot load clip_weights {weights!r}{offline}: {str(exc).strip().splitlines()[0]}") from None
        # the vision tower and its projection only; the text tower is not needed
        self.vision, self.projection = model.vision_model.to(device).eval(), model.visual_projection.to(device).eval()
        self.config, self.weights, self.device = model.config, weights, device

    @classmethod
    def from_context(cls, context: EncoderContext) -> "ClipEncoder":
        return cls(context.settings.clip_weights, context.device)

    def identity(self) -> dict:
        return {"encoder": self.name, "weights": self.weights, **weights_fingerprint(self.weights, self.config),
                "features": "visual_projection(pooler_output)", "dtype": "float32", "device_type": self.device.type}

    @torch.inference_mode()
    def encode(self, images: Sequence[Image.Image]) -> torch.Tensor:
        pixels = self.processor(images=[i.convert("RGB") for i in images], return_tensors="pt")["pixel_values"]
        pooled = self.vision(pixel_values=pixels.to(self.device)).pooler_output
        return self.projection(pooled).float().cpu()
