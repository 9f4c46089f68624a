"""`DDiTModel`: the D-DiT backend behind the `ddit_eval.api.Model` protocol.

Built from its five components (see `loader.load_model` for building it from a checkpoint).  Jobs
live elsewhere: the encoders a trainer shares in `codec.py`, probe features in `features.py`, the
text window's fit in `window.py`, defaults and how a checkpoint records them in `defaults.py`.
Per-call values stay local; the mutable attributes are the `rows` counter of network rows evaluated
(for tests and benchmarks) and the `clamps` log of answers that did not fit the text window.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from typing import Optional, Sequence, Union

import numpy as np
import torch
from PIL import Image

from ddit_eval.api import AnswerRequest, CaptionRequest, ImageRequest

from .codec import DDiTCodec, resize_and_crop
from .defaults import DDiTDefaults
from .features import image_features
from .fixed_shape import in_fixed_chunks
from .i2t import TextSampling, sample_tokens
from .t2i import ImageSampling, euler_cfg, initial_noise, sigma_schedule
from .window import ClampLog, fit_answer


def _or_default(value, default):
    """None means "the default"; 0 is a value (and a task's checks reject it), never a silent default."""
    return default if value is None else value


def image_seed(seed: int, k: int) -> int:
    """Seed of image k of a request: a fixed mix of (seed, k), independent of the batch."""
    return (seed * 1_000_003 + k * 7_919 + 12_345) % (2**63 - 1)


@dataclass(frozen=True)
class InfillJob:
    """One i2t row: `prompt` ids held fixed, masked positions after them up to `total`; seed and image
    from `request`."""

    prompt: tuple[int, ...]
    total: int
    request: Union[CaptionRequest, AnswerRequest]


class DDiTModel:
    """A D-DiT model: text-to-image, captioning and VQA infill, batched with per-row randomness."""

    def __init__(self, transformer, vae, text_encoder, tokenizer, scheduler,
                 defaults: DDiTDefaults = DDiTDefaults(), checkpoint: str = "", name: str = "ddit") -> None:
        self.transformer, self.vae, self.text_encoder = transformer, vae, text_encoder
        self.tokenizer, self.scheduler = tokenizer, scheduler
        self.defaults, self.checkpoint, self.name = defaults, checkpoint, name
        self.rows: Counter = Counter()  # rows evaluated: "transformer", "text_encoder", "text_positions"
        self.codec = DDiTCodec(vae, text_encoder, tokenizer, transformer, defaults.call_rows, self.rows, defaults.vae_rows)
        self.clamps = ClampLog(self.text_window)

    # ------------------------------------------------------------------ facts
    @property
    def device(self) -> torch.device:
        return self.codec.device  # the transformer's

    @property
    def dtype(self) -> torch.dtype:
        return self.codec.dtype

    @property
    def text_window(self) -> int:
        """Text positions of an i2t row (prompt + answer, or a caption): what tasks may ask for at most."""
        return self.defaults.text_length

    text_length = text_window  # the name DDiTDefaults and trainers use

    def tokenize(self, texts: Sequence[str], length: Optional[int], pad: bool = True, eos: bool = True) -> list[list[int]]:
        """The model's token ids of `texts` (see `DDiTCodec.tokenize`): what a prompt costs of the window."""
        return self.codec.tokenize(texts, length, pad, eos)

    def config(self) -> dict:
        return {"kind": "ddit", "name": self.name, "checkpoint": self.checkpoint, "device": str(self.device),
                "dtype": str(self.dtype).removeprefix("torch."), "mask_token_id": self.codec.mask_token_id,
                "vocab_size": self.transformer.config.vocab_size, "defaults": dataclasses.asdict(self.defaults),
                "attention": "torch scaled_dot_product_attention"}

    def prepare(self, request):
        """Resize and crop a request's image ahead of time (the runner's loader threads call this)."""
        image = getattr(request, "image", None)
        if image is None:
            return request
        return dataclasses.replace(request, image=resize_and_crop(image, self.defaults.resolution))

    def network_calls(self) -> int:
        """Transformer evaluations so far: one per real row of each call (padding rows not counted).
        The steps ablation reports them per sample as the cost of T steps."""
        return self.rows["transformer"]

    def take_notes(self) -> list[str]:
        """What the run's notes should say of the requests since the last call (answers clamped to the
        text window), one line each; then forgotten."""
        return self.clamps.take_notes()

    def image_features(self, images: Sequence[Image.Image], layer: int = -1, pooling: str = "mean",
                       context: str = "masked") -> torch.Tensor:
        """Probe features of `images` (see `features.image_features`)."""
        return image_features(self, images, layer, pooling, context)

    def with_defaults(self, **changes) -> "DDiTModel":
        """A model sharing these components with some defaults changed (e.g. draw="gumbel")."""
        return DDiTModel(self.transformer, self.vae, self.text_encoder, self.tokenizer, self.scheduler,
                         dataclasses.replace(self.defaults, **changes), self.checkpoint, self.name)

    def _transformer_call(self):
        """The transformer as f(hidden_states, encoder_hidden_states, timestep) at the fixed call shape."""
        fixed = in_fixed_chunks(lambda x, c, t: self.transformer(hidden_states=x, encoder_hidden_states=c, timestep=t),
                                self.defaults.call_rows)
        return lambda hidden_states, encoder_hidden_states, timestep: fixed(hidden_states, encoder_hidden_states, timestep)

    def _count(self, n: int) -> None:
        self.rows["transformer"] += n

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
        codec, length = self.codec, self.defaults.t2i_text_length
        ids = codec.tokenize([r.prompt for r in requests] + [r.negative_prompt for r in requests], length)
        cond, uncond = codec.encode_text(torch.tensor(ids, device=self.device)).chunk(2)
        side = settings.resolution // codec.vae_scale_factor
        shape = (self.transformer.config.in_channels, side, side)
        latents = initial_noise([image_seed(r.seed, k) for r, k in zip(requests, ks)], shape).to(self.device, self.dtype)
        image_tokens = (side // self.transformer.config.patch_size) ** 2
        sigmas = sigma_schedule(self.scheduler.config, settings.steps, image_seq_len=image_tokens)
        latents = euler_cfg(self._transformer_call(), latents, cond, uncond, sigmas, settings.guidance, self._count)
        pixels = codec.decode_latents(latents)
        arrays = (pixels.permute(0, 2, 3, 1).cpu().numpy() * 255).round().astype(np.uint8)
        return [Image.fromarray(a) for a in arrays]

    # ------------------------------------------------------------------ image to text
    @torch.inference_mode()
    def caption(self, requests: Sequence[CaptionRequest]) -> list[str]:
        jobs = [InfillJob((), _or_default(r.length, self.text_window), r) for r in requests]
        tokens = self._infill(jobs, [_or_default(r.steps, self.defaults.caption_steps) for r in requests])
        eos = self.tokenizer.eos_token
        return [self.tokenizer.decode(t, skip_special_tokens=False).replace(eos, "").strip() for t in tokens]

    @torch.inference_mode()
    def answer(self, requests: Sequence[AnswerRequest]) -> list[str]:
        prompts = self.codec.tokenize([r.prompt for r in requests], None, pad=False, eos=False)
        fits = [fit_answer(p, r.answer_length, self.text_window) for p, r in zip(prompts, requests)]
        self.clamps.record(fits)
        jobs = [InfillJob(fit.prompt, fit.total, r) for fit, r in zip(fits, requests)]
        tokens = self._infill(jobs, [_or_default(r.steps, self.defaults.answer_steps) for r in requests])
        answers, eos = [], self.tokenizer.eos_token_id
        for job, t in zip(jobs, tokens):
            after = t[len(job.prompt):]
            after = after[:after.index(eos)] if eos in after else after
            answers.append(self.tokenizer.decode(after, skip_special_tokens=False).strip())
        return answers

    def _infill(self, jobs: Sequence[InfillJob], steps: list[int]) -> list[list[int]]:
        """Fill the masked positions of each job's row; rows with equal (total, steps) share sampler
        calls.  Returns each row's final ids."""
        out: list = [None] * len(jobs)
        groups: dict[tuple, list[int]] = {}
        for j, (job, n) in enumerate(zip(jobs, steps)):
            groups.setdefault((job.total, n), []).append(j)
        for (total, n), members in groups.items():
            for start in range(0, len(members), self.defaults.max_rows):
                chunk = members[start:start + self.defaults.max_rows]
                result = self._infill_chunk([jobs[j] for j in chunk], total, n)
                for j, ids in zip(chunk, result):
                    out[j] = ids
        return out

    def _infill_chunk(self, jobs: list[InfillJob], total: int, steps: int) -> list[list[int]]:
        d, codec = self.defaults, self.codec
        generators = [torch.Generator().manual_seed(job.request.seed) for job in jobs]
        pixels = codec.preprocess([job.request.image for job in jobs], d.resolution)
        # row r's posterior noise comes from its own generator
        latents = codec.encode_images(pixels, generators if d.posterior == "sample" else None)
        tokens = torch.full((len(jobs), total), codec.mask_token_id, dtype=torch.long)
        for row, job in enumerate(jobs):
            tokens[row, :len(job.prompt)] = torch.tensor(job.prompt[:total], dtype=torch.long)
        if d.draw == "gumbel":
            generators = [torch.Generator(self.device).manual_seed(job.request.seed + 1) for job in jobs]

        transformer = self._transformer_call()

        def denoise(rows: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
            hidden = codec.encode_text(ids.to(self.device))
            zero = torch.zeros(len(rows), device=self.device, dtype=self.dtype)
            _, logits = transformer(latents[rows.to(self.device)], hidden, zero)
            return logits

        sampling = TextSampling(steps=steps, draw=d.draw, cache=d.cache)
        final = sample_tokens(denoise, tokens.to(self.device), codec.mask_token_id, generators, sampling, self._count)
        return final.cpu().tolist()
