"""`DDiTModel`: the D-DiT backend behind the `ddit_eval.api.Model` protocol.

Built from its five components (see `loader.load_model` for building it from a checkpoint).
Per-call values stay local; the only mutable attribute is the `rows` counter of network rows
evaluated, kept for tests and benchmarks.

Also the public helpers a trainer needs: `tokenize`, `encode_text`, `preprocess`, `encode_images`,
`decode_latents`, `mask_token_id`, `text_length`; and `image_features` for feature probes.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch
from PIL import Image

from ddit_eval.api import AnswerRequest, CaptionRequest, ImageRequest

from .fixed_shape import in_fixed_chunks
from .i2t import TextSampling, sample_tokens
from .t2i import ImageSampling, euler_cfg, initial_noise, sigma_schedule

MASK_TOKEN = "<extra_id_0>"


DEFAULTS_KEY = "_ddit_eval_defaults"  # where a checkpoint's model_index.json records its DDiTDefaults


@dataclass(frozen=True)
class DDiTDefaults:
    """Default settings (the paper's protocol for released checkpoints)."""

    resolution: int = 512
    t2i_steps: int = 28
    guidance: float = 7.0
    t2i_text_length: int = 256
    text_length: int = 128
    caption_steps: int = 64
    answer_steps: int = 32
    posterior: str = "sample"  # VAE posterior for i2t: "sample" (official, per-row seeded) or "mean"
    draw: str = "fast"  # "fast" (exact cheap draw) or "gumbel" (official full-vocabulary draw)
    cache: str = "row"  # "row", "batch" (official) or "none"
    max_rows: int = 64  # rows sampled together (a memory bound: larger batches are split; results unchanged)
    call_rows: int = 8  # rows of every network call, the last chunk filled up (see fixed_shape.py)


def _or_default(value, default):
    """None means "the default"; 0 is a value (and a task's checks reject it), never a silent default."""
    return default if value is None else value


class _FeaturesCaptured(Exception):
    """Raised by `image_features`' hook to stop the forward once the wanted block has run."""


def image_seed(seed: int, k: int) -> int:
    """Seed of image k of a request: a fixed mix of (seed, k), independent of the batch."""
    return (seed * 1_000_003 + k * 7_919 + 12_345) % (2**63 - 1)


class DDiTModel:
    """A D-DiT model: text-to-image, captioning and VQA infill, batched with per-row randomness."""

    def __init__(self, transformer, vae, text_encoder, tokenizer, scheduler,
                 defaults: DDiTDefaults = DDiTDefaults(), checkpoint: str = "", name: str = "ddit") -> None:
        self.transformer, self.vae, self.text_encoder = transformer, vae, text_encoder
        self.tokenizer, self.scheduler = tokenizer, scheduler
        self.defaults, self.checkpoint, self.name = defaults, checkpoint, name
        self.rows: Counter = Counter()  # rows evaluated: "transformer", "text_encoder", "text_positions"
        mask = tokenizer.convert_tokens_to_ids(MASK_TOKEN)
        if mask is None or mask == tokenizer.unk_token_id:
            raise ValueError(f"tokenizer has no {MASK_TOKEN} token (the D-DiT mask token)")
        self.mask_token_id = int(mask)

    # ------------------------------------------------------------------ facts
    @property
    def device(self) -> torch.device:
        return next(self.transformer.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.transformer.parameters()).dtype

    @property
    def text_length(self) -> int:
        return self.defaults.text_length

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    def config(self) -> dict:
        return {"kind": "ddit", "name": self.name, "checkpoint": self.checkpoint, "device": str(self.device),
                "dtype": str(self.dtype).removeprefix("torch."), "mask_token_id": self.mask_token_id,
                "vocab_size": self.transformer.config.vocab_size, "defaults": dataclasses.asdict(self.defaults),
                "attention": "torch scaled_dot_product_attention"}

    # ------------------------------------------------------------------ encoders (also for training)
    def tokenize(self, texts: Sequence[str], length: int, pad: bool = True, eos: bool = True) -> list[list[int]]:
        """Token ids, truncated to `length` (T5 appends `</s>`); `eos=False` drops a trailing `</s>`;
        `pad=True` pads to `length` with the tokenizer's pad token."""
        ids = self.tokenizer(list(texts), max_length=length, truncation=True, padding=False).input_ids
        if not eos:
            ids = [x[:-1] if x and x[-1] == self.tokenizer.eos_token_id else x for x in ids]
        if pad:
            ids = [x + [self.tokenizer.pad_token_id] * (length - len(x)) for x in ids]
        return ids

    def encode_text(self, input_ids: torch.Tensor) -> torch.Tensor:
        """T5 last hidden state (B, L, D) of token ids, no attention mask (as the official code)."""
        self.rows["text_encoder"] += input_ids.shape[0]
        self.rows["text_positions"] += input_ids.numel()
        encoder = in_fixed_chunks(lambda ids: self.text_encoder(input_ids=ids).last_hidden_state, self.defaults.call_rows)
        return encoder(input_ids.to(self.text_encoder.device)).to(self.dtype)

    def preprocess(self, images: Sequence[Image.Image], resolution: int) -> torch.Tensor:
        """RGB, shorter side to `resolution` (bicubic), centre crop, to [-1, 1]: (B, 3, R, R) fp32.

        The official torchvision pipeline (Resize(R, bicubic), CenterCrop(R), ToTensor,
        Normalize(0.5, 0.5)), made of torchvision's own functions, so it stays equal to it
        whichever torchvision and Pillow are installed.
        """
        from torchvision.transforms import functional as TF

        tensors = [TF.to_tensor(self.resize_and_crop(image, resolution)) for image in images]
        return torch.stack([TF.normalize(t, [0.5], [0.5]) for t in tensors])

    @staticmethod
    def resize_and_crop(image: Image.Image, resolution: int) -> Image.Image:
        """The PIL half of `preprocess`; an image it returns passes through it again unchanged
        (Pillow returns a copy when the size is already right, and the crop is then the whole image)."""
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms import functional as TF

        image = TF.resize(image.convert("RGB"), resolution, interpolation=InterpolationMode.BICUBIC)
        return TF.center_crop(image, resolution)

    def prepare(self, request):
        """Resize and crop a request's image ahead of time (the runner's loader threads call this)."""
        image = getattr(request, "image", None)
        if image is None:
            return request
        return dataclasses.replace(request, image=self.resize_and_crop(image, self.defaults.resolution))

    def encode_images(self, pixels: torch.Tensor, generators: Optional[Sequence[torch.Generator]] = None) -> torch.Tensor:
        """VAE latents (scaled, shifted) of (B, 3, R, R) pixels in [-1, 1].

        With `generators` (one per row) the posterior is sampled, row r's noise from generators[r]
        (the official behaviour); without, the posterior mean is used.
        """
        def posterior(x):
            dist = self.vae.encode(x).latent_dist
            return dist.mean, dist.std

        z, std = in_fixed_chunks(posterior, self.defaults.call_rows)(pixels.to(self.device, self.vae.dtype))
        if generators is not None:
            noise = torch.stack([torch.randn(z.shape[1:], generator=g, device=g.device) for g in generators])
            z = z + std * noise.to(z.device, z.dtype)
        cfg = self.vae.config
        return ((z - (0.0 if cfg.shift_factor is None else cfg.shift_factor)) * cfg.scaling_factor).to(self.dtype)

    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        """Pixels in [0, 1] (B, 3, R, R) fp32 from transformer-space latents."""
        cfg = self.vae.config
        z = latents.to(self.vae.dtype) / cfg.scaling_factor + (0.0 if cfg.shift_factor is None else cfg.shift_factor)
        decoded = in_fixed_chunks(lambda x: self.vae.decode(x).sample, self.defaults.call_rows)(z)
        return (decoded.float() * 0.5 + 0.5).clamp(0, 1)

    @torch.inference_mode()
    def image_features(self, images: Sequence[Image.Image], layer: int = -1, pooling: str = "mean",
                       context: str = "masked") -> torch.Tensor:
        """Image-stream hidden states after joint block `layer` (negative counts from the end), pooled
        over the image tokens ("mean" or "max"): (B, D) fp32 on the CPU, for feature probes.

        The image enters as in captioning (VAE posterior mean, timestep 0); the text stream holds
        `context`: "masked" (every position the mask token, D-DiT's first captioning step) or "empty"
        (T5 of the empty prompt).  The forward stops after the block; calls run at the fixed shape
        (`fixed_shape.py`), so a row's features do not depend on its batch.
        """
        blocks = self.transformer.transformer_blocks
        if not -len(blocks) <= layer < len(blocks) or pooling not in ("mean", "max") or context not in ("masked", "empty"):
            raise ValueError(f"image_features: layer {layer} (the model has {len(blocks)} blocks), pooling {pooling!r} "
                             f"(mean or max) or context {context!r} (masked or empty) is out of range")
        latents = self.encode_images(self.preprocess(images, self.defaults.resolution))
        if context == "masked":
            ids = [[self.mask_token_id] * self.text_length]
        else:
            ids = self.tokenize([""], self.text_length)
        hidden = self.encode_text(torch.tensor(ids, device=self.device)).expand(len(images), -1, -1)
        zero = torch.zeros(len(images), device=self.device, dtype=self.dtype)
        tokens = in_fixed_chunks(self._image_stream_after(blocks[layer]), self.defaults.call_rows)(latents, hidden, zero)
        tokens = tokens.float()
        return (tokens.mean(dim=1) if pooling == "mean" else tokens.amax(dim=1)).cpu()

    def _image_stream_after(self, block):
        """A function of (latents, text states, timesteps) -> the image stream after `block`, the rest skipped."""

        def run(latents, hidden, timestep):
            captured = {}

            def stop(module, args, output):
                captured["image"] = output[1]  # a joint block returns (text, image)
                raise _FeaturesCaptured

            handle = block.register_forward_hook(stop)
            try:
                self.transformer(hidden_states=latents, encoder_hidden_states=hidden, timestep=timestep)
            except _FeaturesCaptured:
                pass
            finally:
                handle.remove()
            return captured["image"]

        return run

    def _transformer_call(self):
        """The transformer as f(hidden_states, encoder_hidden_states, timestep) at the fixed call shape."""
        fixed = in_fixed_chunks(lambda x, c, t: self.transformer(hidden_states=x, encoder_hidden_states=c, timestep=t),
                                self.defaults.call_rows)
        return lambda hidden_states, encoder_hidden_states, timestep: fixed(hidden_states, encoder_hidden_states, timestep)

    # ------------------------------------------------------------------ text to image
    @torch.inference_mode()
    def generate_images(self, requests: Sequence[ImageRequest]) -> list[list[Image.Image]]:
        # 1. Expand requests into one row per image; rows with equal settings share a call.
        rows = [(i, k) for i, r in enumerate(requests) for k in range(r.num_images)]
        out: list[list[Image.Image]] = [[None] * r.num_images for r in requests]
        groups: dict[ImageSampling, list] = {}
        for i, k in rows:
            groups.setdefault(self._image_settings(requests[i]), []).append((i, k))
        # 2. Sample each group in chunks of max_rows.
        for settings, members in groups.items():
            for start in range(0, len(members), self.defaults.max_rows):
                chunk = members[start:start + self.defaults.max_rows]
                images = self._generate_chunk([requests[i] for i, _ in chunk], [k for _, k in chunk], settings)
                for (i, k), image in zip(chunk, images):
                    out[i][k] = image
        return out

    def _image_settings(self, r: ImageRequest) -> ImageSampling:
        d = self.defaults
        return ImageSampling(steps=_or_default(r.steps, d.t2i_steps), guidance=_or_default(r.guidance, d.guidance),
                             resolution=_or_default(r.resolution, d.resolution))

    def _generate_chunk(self, requests: list[ImageRequest], ks: list[int], settings: ImageSampling) -> list[Image.Image]:
        length = self.defaults.t2i_text_length
        ids = self.tokenize([r.prompt for r in requests] + [r.negative_prompt for r in requests], length)
        context = self.encode_text(torch.tensor(ids, device=self.device))
        cond, uncond = context.chunk(2)
        side = settings.resolution // self.vae_scale_factor
        shape = (self.transformer.config.in_channels, side, side)
        latents = initial_noise([image_seed(r.seed, k) for r, k in zip(requests, ks)], shape).to(self.device, self.dtype)
        image_tokens = (side // self.transformer.config.patch_size) ** 2
        sigmas = sigma_schedule(self.scheduler.config, settings.steps, image_seq_len=image_tokens)
        latents = euler_cfg(self._transformer_call(), latents, cond, uncond, sigmas, settings.guidance, self._count)
        pixels = self.decode_latents(latents)
        arrays = (pixels.permute(0, 2, 3, 1).cpu().numpy() * 255).round().astype(np.uint8)
        return [Image.fromarray(a) for a in arrays]

    def _count(self, n: int) -> None:
        self.rows["transformer"] += n

    def network_calls(self) -> int:
        """Transformer evaluations so far: one per real row of each call (padding rows not counted).
        The steps ablation reports them per sample as the cost of T steps."""
        return self.rows["transformer"]

    # ------------------------------------------------------------------ image to text
    @torch.inference_mode()
    def caption(self, requests: Sequence[CaptionRequest]) -> list[str]:
        jobs = [([], _or_default(r.length, self.text_length), r) for r in requests]
        tokens = self._infill(jobs, [_or_default(r.steps, self.defaults.caption_steps) for r in requests])
        eos = self.tokenizer.eos_token
        return [self.tokenizer.decode(t, skip_special_tokens=False).replace(eos, "").strip() for t in tokens]

    @torch.inference_mode()
    def answer(self, requests: Sequence[AnswerRequest]) -> list[str]:
        prompts = self.tokenize([r.prompt for r in requests], self.text_length, pad=False, eos=False)
        jobs = []
        for p, r in zip(prompts, requests):
            total = self.text_length if r.answer_length is None else min(self.text_length, len(p) + r.answer_length)
            jobs.append((p, total, r))
        tokens = self._infill(jobs, [_or_default(r.steps, self.defaults.answer_steps) for r in requests])
        answers = []
        for (p, _, _), t in zip(jobs, tokens):
            after = t[len(p):]
            eos = self.tokenizer.eos_token_id
            after = after[:after.index(eos)] if eos in after else after
            answers.append(self.tokenizer.decode(after, skip_special_tokens=False).strip())
        return answers

    def _infill(self, jobs: list, steps: list[int]) -> list[list[int]]:
        """Fill masked positions of rows (prompt ids, total length, request); rows with equal
        (length, steps) share sampler calls.  Returns each row's final ids."""
        out: list = [None] * len(jobs)
        groups: dict[tuple, list[int]] = {}
        for j, ((_, total, _), n) in enumerate(zip(jobs, steps)):
            groups.setdefault((total, n), []).append(j)
        for (total, n), members in groups.items():
            for start in range(0, len(members), self.defaults.max_rows):
                chunk = members[start:start + self.defaults.max_rows]
                result = self._infill_chunk([jobs[j] for j in chunk], total, n)
                for j, ids in zip(chunk, result):
                    out[j] = ids
        return out

    def _infill_chunk(self, jobs: list, total: int, steps: int) -> list[list[int]]:
        d = self.defaults
        generators = [torch.Generator().manual_seed(r.seed) for _, _, r in jobs]
        pixels = self.preprocess([r.image for _, _, r in jobs], d.resolution)
        # row r's posterior noise comes from its own generator
        latents = self.encode_images(pixels, generators if d.posterior == "sample" else None)
        tokens = torch.full((len(jobs), total), self.mask_token_id, dtype=torch.long)
        for row, (prompt, _, _) in enumerate(jobs):
            tokens[row, :len(prompt)] = torch.tensor(prompt[:total], dtype=torch.long)
        if d.draw == "gumbel":
            generators = [torch.Generator(self.device).manual_seed(r.seed + 1) for _, _, r in jobs]

        transformer = self._transformer_call()

        def denoise(rows: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
            hidden = self.encode_text(ids.to(self.device))
            zero = torch.zeros(len(rows), device=self.device, dtype=self.dtype)
            _, logits = transformer(latents[rows.to(self.device)], hidden, zero)
            return logits

        sampling = TextSampling(steps=steps, draw=d.draw, cache=d.cache)
        final = sample_tokens(denoise, tokens.to(self.device), self.mask_token_id, generators, sampling, self._count)
        return final.cpu().tolist()

    def with_defaults(self, **changes) -> "DDiTModel":
        """A model sharing these components with some defaults changed (e.g. draw="gumbel")."""
        return DDiTModel(self.transformer, self.vae, self.text_encoder, self.tokenizer, self.scheduler,
                         dataclasses.replace(self.defaults, **changes), self.checkpoint, self.name)
