"""`DDiTCodec`: the encoders around a D-DiT transformer, shared by sampling and training.

Tokenize, T5-encode, preprocess images, VAE-encode and decode.  The backend samples through
it and `ddit_eval/shapes/train_tiny.py` trains through it, so a trained model sees exactly the
encodings it is evaluated with.  Every T5 and VAE call runs at the fixed shape (`fixed_shape.py`).
"""

from __future__ import annotations

from collections import Counter
from typing import Optional, Sequence

import torch
from PIL import Image

from .fixed_shape import in_fixed_chunks

MASK_TOKEN = "<extra_id_0>"


class DDiTCodec:
    """T5 tokenizer and encoder, and the VAE, for one transformer.

    Encodings come out in the transformer's dtype (image latents on its device): it is what reads
    them.  `rows` counts the T5 rows and positions encoded ("text_encoder", "text_positions").
    """

    def __init__(self, vae, text_encoder, tokenizer, transformer, call_rows: int, rows: Optional[Counter] = None,
                 vae_rows: int = 1) -> None:
        self.vae, self.text_encoder, self.tokenizer, self.transformer = vae, text_encoder, tokenizer, transformer
        self.call_rows, self.vae_rows = call_rows, vae_rows
        self.rows = Counter() if rows is None else rows
        mask = tokenizer.convert_tokens_to_ids(MASK_TOKEN)
        if mask is None or mask == tokenizer.unk_token_id:
            raise ValueError(f"tokenizer has no {MASK_TOKEN} token (the D-DiT mask token)")
        self.mask_token_id = int(mask)

    @property
    def device(self) -> torch.device:
        return next(self.transformer.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.transformer.parameters()).dtype

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    # ------------------------------------------------------------------ text
    def tokenize(self, texts: Sequence[str], length: Optional[int], pad: bool = True, eos: bool = True) -> list[list[int]]:
        """Token ids, truncated to `length` (T5 appends `</s>`; None: not truncated, not padded);
        `eos=False` drops a trailing `</s>`; `pad=True` pads to `length` with the tokenizer's pad token."""
        if length is None:
            ids = self.tokenizer(list(texts), padding=False).input_ids
        else:
            ids = self.tokenizer(list(texts), max_length=length, truncation=True, padding=False).input_ids
        if not eos:
            ids = [x[:-1] if x and x[-1] == self.tokenizer.eos_token_id else x for x in ids]
        if pad and length is not None:
            ids = [x + [self.tokenizer.pad_token_id] * (length - len(x)) for x in ids]
        return ids

    def encode_text(self, input_ids: torch.Tensor) -> torch.Tensor:
        """T5 last hidden state (B, L, D) of token ids, no attention mask (as the official code)."""
        self.rows["text_encoder"] += input_ids.shape[0]
        self.rows["text_positions"] += input_ids.numel()
        encoder = in_fixed_chunks(lambda ids: self.text_encoder(input_ids=ids).last_hidden_state, self.call_rows)
        return encoder(input_ids.to(self.text_encoder.device)).to(self.dtype)

    # ------------------------------------------------------------------ images
    def preprocess(self, images: Sequence[Image.Image], resolution: int) -> torch.Tensor:
        """RGB, shorter side to `resolution` (bicubic), centre crop, to [-1, 1]: (B, 3, R, R) fp32.

        The official torchvision pipeline (Resize(R, bicubic), CenterCrop(R), ToTensor,
        Normalize(0.5, 0.5)), made of torchvision's own functions, so it stays equal to it
        whichever torchvision and Pillow are installed.
        """
        from torchvision.transforms import functional as TF

        tensors = [TF.to_tensor(resize_and_crop(image, resolution)) for image in images]
        return torch.stack([TF.normalize(t, [0.5], [0.5]) for t in tensors])

    def encode_images(self, pixels: torch.Tensor, generators: Optional[Sequence[torch.Generator]] = None) -> torch.Tensor:
        """VAE latents (scaled, shifted) of (B, 3, R, R) pixels in [-1, 1].

        With `generators` (one per row) the posterior is sampled, row r's noise from generators[r]
        (the official behaviour); without, the posterior mean is used.
        """
        def posterior(x):
            dist = self.vae.encode(x).latent_dist
            return dist.mean, dist.std

        z, std = in_fixed_chunks(posterior, self.vae_rows)(pixels.to(self.device, self.vae.dtype))
        if generators is not None:
            noise = torch.stack([torch.randn(z.shape[1:], generator=g, device=g.device) for g in generators])
            z = z + std * noise.to(z.device, z.dtype)
        cfg = self.vae.config
        return ((z - (0.0 if cfg.shift_factor is None else cfg.shift_factor)) * cfg.scaling_factor).to(self.dtype)

    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        """Pixels in [0, 1] (B, 3, R, R) fp32 from transformer-space latents."""
        cfg = self.vae.config
        z = latents.to(self.vae.dtype) / cfg.scaling_factor + (0.0 if cfg.shift_factor is None else cfg.shift_factor)
        decoded = in_fixed_chunks(lambda x: self.vae.decode(x).sample, self.vae_rows)(z)
        return (decoded.float() * 0.5 + 0.5).clamp(0, 1)


def resize_and_crop(image: Image.Image, resolution: int) -> Image.Image:
    """The PIL half of `DDiTCodec.preprocess`; an image it returns passes through it again unchanged
    (Pillow returns a copy when the size is already right, and the crop is then the whole image)."""
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF

    image = TF.resize(image.convert("RGB"), resolution, interpolation=InterpolationMode.BICUBIC)
    return TF.center_crop(image, resolution)
