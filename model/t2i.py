"""Text-to-image: flow-matching Euler sampling with classifier-free guidance.

The sigma schedule comes from a fresh copy of the checkpoint's FlowMatchEulerDiscreteScheduler
(so the stored scheduler is never mutated; with `use_dynamic_shifting` its `mu` is computed from the
image sequence length as diffusers' SD3 pipeline does); the Euler step is
x <- x + (sigma_next - sigma) * v, with the model called on [uncond; cond] rows in one batch at the
scheduler's timestep 1000 * sigma, passed in fp32 as the SD3 pipeline does (in bf16, timesteps near
1000 would be rounded to multiples of 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from diffusers import FlowMatchEulerDiscreteScheduler


@dataclass(frozen=True)
class ImageSampling:
    steps: int = 28
    guidance: float = 7.0
    resolution: int = 512

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"steps={self.steps}: must be at least 1")


def sigma_schedule(scheduler_config, steps: int, image_seq_len: Optional[int] = None) -> torch.Tensor:
    """Sigmas (steps + 1 values, last 0) from the checkpoint's scheduler config.

    `image_seq_len` (image tokens) is needed only when the config asks for dynamic shifting."""
    scheduler = FlowMatchEulerDiscreteScheduler.from_config(scheduler_config)
    kwargs = {}
    if scheduler.config.get("use_dynamic_shifting", False):
        if image_seq_len is None:
            raise ValueError("the scheduler uses dynamic shifting: image_seq_len is needed")
        c = scheduler.config
        base_len, max_len = c.get("base_image_seq_len", 256), c.get("max_image_seq_len", 4096)
        base_shift, max_shift = c.get("base_shift", 0.5), c.get("max_shift", 1.16)
        slope = (max_shift - base_shift) / (max_len - base_len)
        kwargs["mu"] = image_seq_len * slope + base_shift - slope * base_len
    scheduler.set_timesteps(steps, device="cpu", **kwargs)
    return scheduler.sigmas.to(torch.float32)


def initial_noise(seeds: list[int], shape: tuple[int, int, int]) -> torch.Tensor:
    """(B, C, h, w) standard normal latents, row k drawn on CPU from its own seed."""
    return torch.stack([torch.randn(shape, generator=torch.Generator().manual_seed(s)) for s in seeds])


def euler_cfg(transformer, latents: torch.Tensor, cond: torch.Tensor, uncond: torch.Tensor, sigmas: torch.Tensor,
              guidance: float, on_rows=None) -> torch.Tensor:
    """Integrate latents from sigma=1 to 0.  `cond`/`uncond`: T5 states (B, L, D) for each latent row."""
    context = torch.cat([uncond, cond])
    for sigma, sigma_next in zip(sigmas[:-1].tolist(), sigmas[1:].tolist()):
        x = torch.cat([latents, latents])
        timestep = torch.full((x.shape[0],), 1000.0 * sigma, device=x.device, dtype=torch.float32)
        velocity, _ = transformer(hidden_states=x, encoder_hidden_states=context, timestep=timestep)
        if on_rows is not None:
            on_rows(x.shape[0])
        v_uncond, v_cond = velocity.chunk(2)
        guided = v_uncond + guidance * (v_cond - v_uncond)
        latents = (latents.float() + (sigma_next - sigma) * guided.float()).to(latents.dtype)
    return latents
