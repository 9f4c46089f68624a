"""GenEval's colour classifier on transformers' CLIPModel.

Official behaviour (evaluate_images.py with open_clip ViT-L-14 `openai` weights):
each object is pasted through its mask onto a solid #999999 image, cropped to
its box, CLIP-preprocessed (bicubic short side 224, centre crop, OpenAI mean/std)
and classified zero-shot among the 10 GenEval colours.  A colour's text embedding
is the mean of the normalised embeddings of three prompts ("a photo of a {color}
{class}", "a photo of a {color}-colored {class}", "a photo of a {color} object"),
renormalised; the prediction is the colour of highest cosine similarity.

transformers' `openai/clip-vit-large-patch14` is the same network with QuickGELU,
which the OpenAI weights need; `assert_quick_gelu` refuses a config without it.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Sequence, Union

import numpy as np
import torch
from PIL import Image

from ..environment import offline as offline_mode
from ..errors import UsageError
from ..metrics.geneval import COLORS, Detection

CLIP_WEIGHTS = "openai/clip-vit-large-patch14"
BACKGROUND = (0x99, 0x99, 0x99)  # the official "#999"
TEMPLATES = ("a photo of a {color} {cls}", "a photo of a {color}-colored {cls}", "a photo of a {color} object")


def assert_quick_gelu(model: Any) -> None:
    """Raise UsageError unless both CLIP towers use QuickGELU (what the OpenAI weights were trained with)."""
    config = getattr(model, "config", model)
    for tower in ("vision_config", "text_config"):
        act = getattr(getattr(config, tower, None), "hidden_act", None)
        if act != "quick_gelu":
            raise UsageError(f"CLIP {tower}.hidden_act is {act!r}, not 'quick_gelu': the OpenAI CLIP weights need "
                             "QuickGELU, other activations give different colours")


def color_prompts(color: str, class_name: str) -> list[str]:
    """The three official prompts for one colour of one class (article always 'a')."""
    return [t.format(color=color, cls=class_name) for t in TEMPLATES]


def object_crop(image: Image.Image, detection: Detection, background=BACKGROUND) -> Image.Image:
    """The object through its mask on a solid background, cropped to its box (PIL rounding, as the official code)."""
    image = image.convert("RGB")
    if detection.mask is not None:
        mask = np.asarray(detection.mask).astype(bool)
        if mask.shape != (image.height, image.width):
            raise ValueError(f"mask shape {mask.shape} does not match the image (height, width) "
                             f"{(image.height, image.width)}")
        blank = Image.new("RGB", image.size, background)
        image = Image.composite(image, blank, Image.fromarray(mask))
    return image.crop(tuple(float(v) for v in detection.box[:4]))


def _features(output: Any) -> torch.Tensor:
    """CLIPModel.get_*_features returns a tensor (transformers 4) or an output with pooler_output (5)."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


def _image_processor(size: int):
    from transformers import CLIPImageProcessor

    # CLIPImageProcessor's defaults are OpenAI's: bicubic resize of the short side, centre crop, OpenAI mean/std
    return CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size})


class ClipColorClassifier:
    """`ColorClassifier` (ddit_eval.metrics.geneval) by CLIP zero-shot over GenEval's 10 colours.

    `processor_or_image_size`: a CLIPProcessor (image processor + tokenizer), a CLIPImageProcessor,
    or an int (a CLIPImageProcessor with OpenAI defaults at that size).  Without a processor that
    has a tokenizer, pass `tokenizer`.  Text embeddings are cached per class name.
    """

    def __init__(self, model: Any, processor_or_image_size: Union[int, Any], device: Union[str, torch.device] = "cpu",
                 dtype: torch.dtype = torch.float32, tokenizer: Any = None, batch_size: int = 16) -> None:
        assert_quick_gelu(model)
        if isinstance(processor_or_image_size, int):
            self.image_processor = _image_processor(processor_or_image_size)
        else:
            self.image_processor = getattr(processor_or_image_size, "image_processor", processor_or_image_size)
            tokenizer = tokenizer or getattr(processor_or_image_size, "tokenizer", None)
        if tokenizer is None:
            raise ValueError("ClipColorClassifier needs a tokenizer (pass a CLIPProcessor or tokenizer=)")
        self.tokenizer, self.device, self.dtype, self.batch_size = tokenizer, torch.device(device), dtype, batch_size
        self.model = model.to(device=self.device, dtype=dtype).eval()
        self._text: dict[str, torch.Tensor] = {}

    @torch.no_grad()
    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """Unit-norm text embeddings (float32, on the CPU), one row per text."""
        tokens = self.tokenizer(list(texts), padding=True, return_tensors="pt")
        tokens = {k: v.to(self.device) for k, v in tokens.items() if k in ("input_ids", "attention_mask")}
        emb = _features(self.model.get_text_features(**tokens)).float().cpu()
        return emb / emb.norm(dim=-1, keepdim=True)

    def text_embeddings(self, class_name: str) -> torch.Tensor:
        """(10, dim): per colour, the mean of its 3 normalised prompt embeddings, renormalised; cached per class."""
        if class_name not in self._text:
            prompts = [p for color in COLORS for p in color_prompts(color, class_name)]
            emb = self.encode_texts(prompts).reshape(len(COLORS), len(TEMPLATES), -1).mean(dim=1)
            self._text[class_name] = emb / emb.norm(dim=-1, keepdim=True)
        return self._text[class_name]

    def pixel_values(self, crops: Sequence[Image.Image]) -> torch.Tensor:
        return self.image_processor(images=list(crops), return_tensors="pt")["pixel_values"]

    @torch.no_grad()
    def encode_images(self, crops: Sequence[Image.Image]) -> torch.Tensor:
        """Unit-norm image embeddings (float32, on the CPU), in batches of `batch_size`."""
        out = []
        for start in range(0, len(crops), self.batch_size):
            pixels = self.pixel_values(crops[start:start + self.batch_size]).to(self.device, self.dtype)
            out.append(_features(self.model.get_image_features(pixel_values=pixels)).float().cpu())
        emb = torch.cat(out)
        return emb / emb.norm(dim=-1, keepdim=True)

    def classify(self, image: Image.Image, detections: Sequence[Detection], class_name: str) -> list[str]:
        """One of COLORS per detection: argmax cosine between the object crop and the colours' text embeddings."""
        if not detections:
            return []
        crops = [object_crop(image, det) for det in detections]
        scores = self.encode_images(crops) @ self.text_embeddings(class_name).T
        return [COLORS[i] for i in scores.argmax(dim=1).tolist()]


def load_clip(weights: Union[str, os.PathLike] = CLIP_WEIGHTS, revision: Optional[str] = None):
    """(CLIPModel, CLIPProcessor) from a local folder or a hub id; a one-line UsageError if they cannot be loaded."""
    from transformers import CLIPModel, CLIPProcessor

    name = str(weights)
    try:
        model = CLIPModel.from_pretrained(name, revision=revision)
        processor = CLIPProcessor.from_pretrained(name, revision=revision)
    except (OSError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        offline = " (HF_HUB_OFFLINE=1: download it once with a network, or pass a local folder)" \
            if offline_mode() else ""
        raise UsageError(f"cannot load CLIP weights {name!r}{offline}: {first}") from None
    assert_quick_gelu(model)
    return model, processor
