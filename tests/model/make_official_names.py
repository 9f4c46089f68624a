"""Derive the official D-DiT transformer parameter list (name -> shape) from the spec's rules.

Independent of `ddit_eval.model`: starts from diffusers' SD3Transformer2DModel at SD3-medium sizes
(built on the meta device, so it costs nothing) and applies the changes listed in
shared/spec/ddit-reference-implementation.md section 1:
- drop `norm_out`, `proj_out` and the pooled-text embedder `time_text_embed.text_embedder`;
- the last joint block is rebuilt with context_pre_only=False (norm1_context as AdaLayerNormZero,
  attn.to_add_out, ff_context);
- add image_norm_out (AdaLayerNormContinuous), image_proj_out, text_proj_out (D -> vocab) and
  null_image_embd (1, 8, D).

Run `python tests/model/make_official_names.py` to (re)write fixtures/official_param_names.json.
"""

import json
from pathlib import Path

import torch
from diffusers import SD3Transformer2DModel
from diffusers.models.attention import JointTransformerBlock

SD3_MEDIUM = dict(sample_size=128, patch_size=2, in_channels=16, num_layers=24, attention_head_dim=64,
                  num_attention_heads=24, joint_attention_dim=4096, caption_projection_dim=1536,
                  pooled_projection_dim=2048, out_channels=16, pos_embed_max_size=192)
VOCAB = 32100
FIXTURE = Path(__file__).parent / "fixtures" / "official_param_names.json"


def official_parameter_shapes() -> dict[str, list[int]]:
    with torch.device("meta"):
        sd3 = SD3Transformer2DModel(**SD3_MEDIUM)
        last = JointTransformerBlock(dim=1536, num_attention_heads=24, attention_head_dim=64, context_pre_only=False)
    n = SD3_MEDIUM["num_layers"] - 1
    dropped = ("norm_out.", "proj_out.", "time_text_embed.text_embedder.", f"transformer_blocks.{n}.")
    shapes = {k: list(v.shape) for k, v in sd3.state_dict().items() if not k.startswith(dropped)}
    shapes.update({f"transformer_blocks.{n}.{k}": list(v.shape) for k, v in last.state_dict().items()})
    d, out = 1536, 2 * 2 * 16
    shapes.update({
        "image_norm_out.linear.weight": [2 * d, d], "image_norm_out.linear.bias": [2 * d],
        "image_proj_out.weight": [out, d], "image_proj_out.bias": [out],
        "text_proj_out.weight": [VOCAB, d], "text_proj_out.bias": [VOCAB],
        "null_image_embd": [1, 8, d],
    })
    return dict(sorted(shapes.items()))


if __name__ == "__main__":
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps(official_parameter_shapes(), indent=1) + "\n")
    print(f"wrote {FIXTURE}")
