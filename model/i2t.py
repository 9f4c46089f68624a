"""The masked-diffusion text sampler of D-DiT ("ddpm_cache" with final noise removal), batched.

Every row is independent: its own fixed-token mask, its own random stream (a `torch.Generator`),
and its own cache.  `denoise(rows, tokens)` returns logits for the given rows; the sampler turns
them into SUBS probabilities and calls it only for rows whose tokens changed since their last
evaluation (cache="row"), for every row when any row changed (cache="batch", the official rule),
or always (cache="none").  The denoiser ignores time, so caching never changes the output.

Draws (per step, for each still-masked position):
- "fast": unmask with probability dt/t, the new token drawn from p by inverse CDF.  Uses 2 uniforms
  per position per step from the row's generator.
- "gumbel": the official draw: q = p * (t - s) over the vocabulary, q[mask] = s, pick
  argmax(q / E) with E ~ Exp(1) over the full vocabulary (exactly proportional sampling).
Both give the same distribution (see tests/model/test_draw.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import torch

DRAWS = ("fast", "gumbel")
CACHES = ("row", "batch", "none")
EPS = 1e-5


@dataclass(frozen=True)
class TextSampling:
    """How to run the text sampler: steps N, draw method, cache rule."""

    steps: int = 32
    draw: str = "fast"
    cache: str = "row"

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"steps={self.steps}: must be at least 1")
        if self.draw not in DRAWS:
            raise ValueError(f"draw={self.draw!r}: must be one of {DRAWS}")
        if self.cache not in CACHES:
            raise ValueError(f"cache={self.cache!r}: must be one of {CACHES}")


def subs_probs(logits: torch.Tensor, tokens: torch.Tensor, mask_id: int) -> torch.Tensor:
    """SUBS parameterisation: fp32, mask logit -1e6, softmax; unmasked positions carry their token."""
    logits = logits.float()
    logits[..., mask_id] += -1e6
    probs = logits.softmax(-1)
    known = tokens != mask_id
    probs[known] = 0.0
    probs[known, tokens[known]] = 1.0
    return probs


def fast_draw(probs: torch.Tensor, tokens: torch.Tensor, mask_id: int, move: float, generator: torch.Generator) -> torch.Tensor:
    """One row: each masked position unmasks with probability `move` (= dt/t), its token drawn from p."""
    u = torch.rand(2, tokens.shape[0], generator=generator, dtype=torch.float64, device=generator.device).to(tokens.device)
    unmask = (tokens == mask_id) & (u[0] < move)
    if not unmask.any():
        return tokens
    cdf = probs[unmask].double().cumsum(-1)
    picked = torch.searchsorted(cdf, (u[1][unmask] * cdf[:, -1]).unsqueeze(-1), right=True).squeeze(-1)
    out = tokens.clone()
    out[unmask] = picked.clamp_max(probs.shape[-1] - 1)
    return out


def gumbel_draw(probs: torch.Tensor, tokens: torch.Tensor, mask_id: int, t: float, s: float, generator: torch.Generator) -> torch.Tensor:
    """One row, the official way: categorical over q = p*(t-s), q[mask] = s, via argmax(q / Exp(1))."""
    q = probs * (t - s)
    q[:, mask_id] = s
    u = torch.rand(q.shape, generator=generator, device=generator.device).to(q.device)
    drawn = (q / (1e-10 - (u + 1e-10).log())).argmax(-1)
    return torch.where(tokens != mask_id, tokens, drawn)


def sample_tokens(
    denoise: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    tokens: torch.Tensor,
    mask_id: int,
    generators: Sequence[torch.Generator],
    sampling: TextSampling,
    on_rows: Optional[Callable[[int], None]] = None,
) -> torch.Tensor:
    """Run the sampler on (B, L) `tokens` (fixed tokens in place, `mask_id` elsewhere); return final tokens.

    `denoise(rows, tokens_of_rows)` -> logits (len(rows), L, V).  `on_rows(n)` is told how many rows
    each denoiser call evaluates.
    """
    tokens = tokens.clone()
    batch = tokens.shape[0]
    probs: Optional[torch.Tensor] = None
    stale = torch.ones(batch, dtype=torch.bool)
    dt = (1 - EPS) / sampling.steps
    times = torch.linspace(1, EPS, sampling.steps + 1, dtype=torch.float64).tolist()
    for i in range(sampling.steps):
        probs = _refresh(denoise, tokens, mask_id, probs, stale, on_rows)
        t = times[i]
        s = t - dt
        new = torch.stack([
            fast_draw(probs[r], tokens[r], mask_id, dt / t, generators[r]) if sampling.draw == "fast"
            else gumbel_draw(probs[r], tokens[r], mask_id, t, s, generators[r])
            for r in range(batch)
        ])
        changed = (new != tokens).any(-1).cpu()
        tokens = new
        if sampling.cache == "row":
            stale = changed
        else:
            stale = torch.full((batch,), bool(changed.any()) or sampling.cache == "none")
    probs = _refresh(denoise, tokens, mask_id, probs, stale, on_rows)
    return torch.where(tokens != mask_id, tokens, probs.argmax(-1))


def _refresh(denoise, tokens, mask_id, probs, stale, on_rows):
    """Recompute SUBS probabilities for the stale rows; reuse the others."""
    rows = stale.nonzero().squeeze(-1)
    if len(rows) == 0:
        return probs
    fresh = subs_probs(denoise(rows, tokens[rows.to(tokens.device)]), tokens[rows.to(tokens.device)], mask_id)
    if on_rows is not None:
        on_rows(len(rows))
    if probs is None or len(rows) == tokens.shape[0]:
        return fresh
    probs[rows.to(probs.device)] = fresh
    return probs
