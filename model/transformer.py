"""`SD3JointModelFlexible`: the D-DiT transformer, an SD3 MM-DiT whose text stream reaches the output.

Built from diffusers' SD3 pieces so that its parameter names equal the official checkpoint's:

- `pos_embed`, `context_embedder` and the joint blocks are diffusers' own; every block, the last one
  included, keeps its context branch (`context_pre_only=False`), so the text stream continues;
- `time_text_embed` embeds the timestep only (no pooled text projection);
- `image_norm_out` / `image_proj_out` give the flow-matching velocity, `text_norm_out` /
  `text_proj_out` give logits over the T5 vocabulary;
- `null_image_embd` stands in for the image stream when no latents are given.

The forward works with or without gradients, so a trainer can use it as is.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.attention import AttentionMixin, JointTransformerBlock
from diffusers.models.embeddings import PatchEmbed, TimestepEmbedding, Timesteps
from diffusers.models.modeling_utils import ModelMixin
from diffusers.models.normalization import AdaLayerNormContinuous
from torch import nn

NULL_IMAGE_TOKENS = 8


class TimestepOnlyEmbedding(nn.Module):
    """SD3's `time_text_embed` without the pooled-text half: sinusoid(256) -> MLP -> D."""

    def __init__(self, embedding_dim: int, num_channels: int = 256) -> None:
        super().__init__()
        self.time_proj = Timesteps(num_channels=num_channels, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.timestep_embedder = TimestepEmbedding(in_channels=num_channels, time_embed_dim=embedding_dim)

    def forward(self, timestep: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        return self.timestep_embedder(self.time_proj(timestep).to(dtype=dtype))


class SD3JointModelFlexible(ModelMixin, AttentionMixin, ConfigMixin):
    """The dual-stream D-DiT transformer (image velocity + text logits).

    Config keys follow the official `transformer/config.json`: `vocab_size` then SD3's keys.
    `dual_attention_layers` must be empty (SD3.0 blocks).  `pooled_projection_dim` builds nothing (D-DiT has no
    pooled text projection) but stays a config key: the official and embedded config.json carry it, and a key
    the signature lacked would be dropped with a diffusers warning and not written back by `save_pretrained`.
    """

    _supports_gradient_checkpointing = True
    _no_split_modules = ["JointTransformerBlock"]
    _skip_layerwise_casting_patterns = ["pos_embed", "norm"]

    @register_to_config
    def __init__(
        self,
        vocab_size: int = 32100,
        sample_size: int = 128,
        patch_size: int = 2,
        in_channels: int = 16,
        num_layers: int = 24,
        attention_head_dim: int = 64,
        num_attention_heads: int = 24,
        joint_attention_dim: int = 4096,
        caption_projection_dim: int = 1536,
        pooled_projection_dim: int = 2048,
        out_channels: int = 16,
        pos_embed_max_size: int = 192,
        dual_attention_layers: Sequence[int] = (),
        qk_norm: Optional[str] = None,
    ) -> None:
        super().__init__()
        if dual_attention_layers:
            raise ValueError(f"dual_attention_layers={list(dual_attention_layers)}: D-DiT uses SD3.0 blocks only (expected [])")
        self.out_channels = out_channels if out_channels is not None else in_channels
        self.inner_dim = dim = num_attention_heads * attention_head_dim
        if caption_projection_dim != dim:
            raise ValueError(f"caption_projection_dim={caption_projection_dim} must equal heads*head_dim={dim}")
        self.pos_embed = PatchEmbed(height=sample_size, width=sample_size, patch_size=patch_size, in_channels=in_channels,
                                    embed_dim=dim, pos_embed_max_size=pos_embed_max_size)
        self.time_text_embed = TimestepOnlyEmbedding(dim)
        self.context_embedder = nn.Linear(joint_attention_dim, caption_projection_dim)
        self.transformer_blocks = nn.ModuleList([
            JointTransformerBlock(dim=dim, num_attention_heads=num_attention_heads, attention_head_dim=attention_head_dim,
                                  context_pre_only=False, qk_norm=qk_norm)
            for _ in range(num_layers)
        ])
        self.image_norm_out = AdaLayerNormContinuous(dim, dim, elementwise_affine=False, eps=1e-6)
        self.image_proj_out = nn.Linear(dim, patch_size * patch_size * self.out_channels, bias=True)
        self.text_norm_out = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.text_proj_out = nn.Linear(dim, vocab_size, bias=True)
        self.null_image_embd = nn.Parameter(torch.randn(1, NULL_IMAGE_TOKENS, dim) * 0.02)
        self.gradient_checkpointing = False

    def forward(
        self,
        hidden_states: Optional[torch.Tensor],
        encoder_hidden_states: torch.Tensor,
        timestep: torch.Tensor,
        joint_attention_kwargs: Optional[dict] = None,
    ) -> tuple[Optional[torch.Tensor], torch.Tensor]:
        """Run both streams.

        Args:
            hidden_states: image latents (B, C, h, w), already scaled/shifted; None for a text-only pass.
            encoder_hidden_states: T5 last hidden state (B, L, joint_attention_dim).
            timestep: (B,) or scalar on the 0..1000 scale (1000 * sigma; 0 for the text denoiser).
            joint_attention_kwargs: passed to every joint block's attention processor.

        Returns:
            (velocity (B, C, h, w) or None, text logits (B, L, vocab_size)).
        """
        batch = encoder_hidden_states.shape[0]
        dtype = encoder_hidden_states.dtype if hidden_states is None else hidden_states.dtype
        if hidden_states is None:
            image = self.null_image_embd.to(dtype).expand(batch, -1, -1)
        else:
            height, width = hidden_states.shape[-2:]
            image = self.pos_embed(hidden_states).contiguous()
        timestep = torch.as_tensor(timestep, device=encoder_hidden_states.device).reshape(-1).expand(batch)
        temb = self.time_text_embed(timestep, dtype=image.dtype)
        text = self.context_embedder(encoder_hidden_states)
        for block in self.transformer_blocks:
            if torch.is_grad_enabled() and self.gradient_checkpointing:
                text, image = self._gradient_checkpointing_func(block, image, text, temb, joint_attention_kwargs)
            else:
                text, image = block(hidden_states=image, encoder_hidden_states=text, temb=temb,
                                    joint_attention_kwargs=joint_attention_kwargs)
        logits = self.text_proj_out(self.text_norm_out(text))
        velocity = None
        if hidden_states is not None:
            velocity = self._unpatchify(self.image_proj_out(self.image_norm_out(image, temb)), height, width)
        return (velocity, logits)

    def _unpatchify(self, tokens: torch.Tensor, height: int, width: int) -> torch.Tensor:
        p, c = self.config.patch_size, self.out_channels
        h, w = height // p, width // p
        tokens = tokens.reshape(tokens.shape[0], h, w, p, p, c)
        return torch.einsum("nhwpqc->nchpwq", tokens).reshape(tokens.shape[0], c, h * p, w * p)
