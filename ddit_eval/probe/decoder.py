"""The caption decoder: GPT-2 read from image features through a learned prefix (the ClipCap MLP form).

A feature vector goes through LayerNorm -> Linear -> Tanh -> Linear into `prefix_length` GPT-2
input embeddings; GPT-2 continues from them with the caption.  The LayerNorm lets encoders whose
features differ in scale by orders of magnitude (diffusion hidden states vs CLIP embeddings)
train with one learning rate.  Captions are decoded greedily.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ddit_eval.environment import offline as offline_mode
from ddit_eval.errors import UsageError


def load_gpt2(weights: str):
    """(GPT2LMHeadModel, tokenizer) from a hub id or a local folder; one line if they cannot be loaded."""
    from transformers import AutoTokenizer, GPT2LMHeadModel

    try:
        return GPT2LMHeadModel.from_pretrained(weights), AutoTokenizer.from_pretrained(weights)
    except (OSError, ValueError) as exc:
        offline = " (offline: download it once, or pass a local folder)" if offline_mode() else ""
        raise UsageError(f"feature-probe: cannot load decoder_weights {weights!r}{offline}: {str(exc).strip().splitlines()[0]}") from None


class PrefixCaptioner(nn.Module):
    """GPT-2 that captions from one feature vector per image."""

    def __init__(self, gpt2: nn.Module, feature_dim: int, prefix_length: int) -> None:
        super().__init__()
        width = gpt2.config.n_embd
        hidden = max(1, width * prefix_length // 2)
        self.gpt2, self.prefix_length = gpt2, prefix_length
        self.project = nn.Sequential(nn.LayerNorm(feature_dim), nn.Linear(feature_dim, hidden), nn.Tanh(),
                                     nn.Linear(hidden, width * prefix_length))

    def prefix(self, features: torch.Tensor) -> torch.Tensor:
        """(B, prefix_length, n_embd) input embeddings from (B, D) features."""
        return self.project(features).view(features.shape[0], self.prefix_length, -1)

    def forward(self, features: torch.Tensor, tokens: torch.Tensor, token_mask: torch.Tensor) -> torch.Tensor:
        """Mean next-token cross-entropy over the caption tokens (prefix and padding are not scored)."""
        prefix = self.prefix(features)
        embeds = torch.cat([prefix, self.gpt2.get_input_embeddings()(tokens)], dim=1)
        ones = torch.ones(prefix.shape[:2], dtype=token_mask.dtype, device=token_mask.device)
        mask = torch.cat([ones, token_mask], dim=1)
        ignore = torch.full(prefix.shape[:2], -100, dtype=tokens.dtype, device=tokens.device)
        labels = torch.cat([ignore, tokens.masked_fill(token_mask == 0, -100)], dim=1)
        return self.gpt2(inputs_embeds=embeds, attention_mask=mask, labels=labels).loss

    @torch.inference_mode()
    def caption(self, features: torch.Tensor, tokenizer, max_tokens: int) -> list[str]:
        """Greedy captions, at most `max_tokens` tokens each, cut at the end-of-text token."""
        prefix = self.prefix(features)
        mask = torch.ones(prefix.shape[:2], dtype=torch.long, device=prefix.device)
        eos = tokenizer.eos_token_id
        out = self.gpt2.generate(inputs_embeds=prefix, attention_mask=mask, max_new_tokens=max_tokens, do_sample=False,
                                 num_beams=1, eos_token_id=eos, pad_token_id=eos)
        return [" ".join(tokenizer.decode(row, skip_special_tokens=True).split()) for row in out]


def caption_tokens(tokenizer, captions: Sequence[str], max_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids, mask) of captions, each ending in end-of-text, truncated to `max_tokens`, padded with end-of-text."""
    eos = tokenizer.eos_token_id
    rows = [ids[:max_tokens - 1] + [eos] for ids in tokenizer(list(captions)).input_ids]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), eos, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r)
        mask[i, :len(r)] = 1
    return ids, mask
