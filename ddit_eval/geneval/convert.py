"""Map GenEval's MMDetection Mask2Former (Swin-S) checkpoint onto transformers' Mask2Former.

The official checkpoint (mmdet 2.x file `...20220504_001756-743b7d99.pth`, or the
mmdet 3.x file `...-c9d0c4f2.pth` of the same run) holds the same network as
`transformers.Mask2FormerForUniversalSegmentation` with a Swin-S backbone; only
the key names and three tensor layouts differ:

* fused attention input projections (Swin `qkv`, decoder self-attention
  `in_proj`) are split into q/k/v;
* Swin patch merging gathers the 2x2 neighbours with `nn.Unfold` in mmdet
  (channel-major: index c*4 + (dy*2 + dx)) and by concatenation in transformers
  (neighbour-major, neighbours (0,0), (1,0), (0,1), (1,1): index k*C + c), so the
  input channels of `downsample.norm` and `downsample.reduction` are reordered;
* index shifts (`backbone.norm0` -> `stage1`, `mask_embed.{0,2,4}` -> `{0,1,2}`).

Every key of the live model must be produced and every checkpoint key consumed;
anything else raises `CheckpointMismatch` naming a few offending keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

import torch

CONVERTER_VERSION = "1"

SWIN = "model.pixel_level_module.encoder.swin"
PIXEL_DECODER = "model.pixel_level_module.decoder"
TRANSFORMER = "model.transformer_module"

# Checkpoint entries with no counterpart in transformers (buffers recomputed at init).
DROPPED_CHECKPOINT_KEYS = (
    re.compile(r"backbone\.stages\.\d+\.blocks\.\d+\.attn\.w_msa\.relative_position_index"),
    re.compile(r"data_preprocessor\.(mean|std)"),  # mmdet 3.x normalisation buffers
)
# Model entries with no counterpart in mmdet: kept at the live model's values.
# Swin's final layernorm feeds only the pooled output, which the backbone never uses;
# the loss weights are built from the config.
MODEL_ONLY_KEYS = (
    f"{SWIN}.layernorm.weight",
    f"{SWIN}.layernorm.bias",
    "criterion.empty_weight",
)

PLAIN, SPLIT_QKV, MERGE_REORDER = "plain", "split_qkv", "merge_reorder"
MERGE_ORDER = [0, 2, 1, 3]  # unfold neighbour index (dy*2+dx) of concat neighbour k; its own inverse


class CheckpointMismatch(ValueError):
    """The checkpoint does not cover the model exactly (wrong file, config or transformers version)."""


@dataclass(frozen=True)
class _Rule:
    mmdet: str  # template; {name} matches one dotted component
    model: str  # template; SPLIT_QKV rules also contain {qkv}
    kind: str = PLAIN

    def pattern(self, side: str) -> re.Pattern:
        template = self.mmdet if side == "mmdet" else self.model.replace("{qkv}", "(?P<qkv>[qkv])")
        parts = re.split(r"(\{\w+\}|\(\?P<qkv>\[qkv\]\))", template)
        regex = "".join(
            p if p.startswith("(?P") else f"(?P<{p[1:-1]}>\\w+)" if p.startswith("{") else re.escape(p)
            for p in parts)
        return re.compile(regex + "$")


def _backbone_rules() -> list[_Rule]:
    block = "backbone.stages.{i}.blocks.{j}."
    to_block = f"{SWIN}.encoder.layers.{{i}}.blocks.{{j}}."
    rules = [
        _Rule("backbone.patch_embed.projection.{p}", f"{SWIN}.embeddings.patch_embeddings.projection.{{p}}"),
        _Rule("backbone.patch_embed.norm.{p}", f"{SWIN}.embeddings.norm.{{p}}"),
        _Rule(block + "norm1.{p}", to_block + "layernorm_before.{p}"),
        _Rule(block + "norm2.{p}", to_block + "layernorm_after.{p}"),
        _Rule(block + "attn.w_msa.relative_position_bias_table",
              to_block + "attention.relative_position_bias.relative_position_bias_table"),
        _Rule(block + "attn.w_msa.qkv.{p}", to_block + "attention.{qkv}_proj.{p}", SPLIT_QKV),
        _Rule(block + "attn.w_msa.proj.{p}", to_block + "attention.o_proj.{p}"),
        _Rule(block + "ffn.layers.0.0.{p}", to_block + "mlp.fc1.{p}"),
        _Rule(block + "ffn.layers.1.{p}", to_block + "mlp.fc2.{p}"),
        _Rule("backbone.stages.{i}.downsample.norm.{p}", f"{SWIN}.encoder.layers.{{i}}.downsample.norm.{{p}}",
              MERGE_REORDER),
        _Rule("backbone.stages.{i}.downsample.reduction.weight",
              f"{SWIN}.encoder.layers.{{i}}.downsample.reduction.weight", MERGE_REORDER),
    ]
    rules += [_Rule(f"backbone.norm{n}.{{p}}", f"model.pixel_level_module.encoder.hidden_states_norms.stage{n + 1}.{{p}}")
              for n in range(4)]
    return rules


def _pixel_decoder_rules() -> list[_Rule]:
    src, dst = "panoptic_head.pixel_decoder.", f"{PIXEL_DECODER}."
    layer, to_layer = src + "encoder.layers.{n}.", dst + "encoder.layers.{n}."
    return [
        _Rule(src + "input_convs.{k}.conv.{p}", dst + "input_projections.{k}.0.{p}"),
        _Rule(src + "input_convs.{k}.gn.{p}", dst + "input_projections.{k}.1.{p}"),
        _Rule(layer + "attentions.0.{m}.{p}", to_layer + "self_attn.{m}.{p}"),
        _Rule(layer + "ffns.0.layers.0.0.{p}", to_layer + "fc1.{p}"),
        _Rule(layer + "ffns.0.layers.1.{p}", to_layer + "fc2.{p}"),
        _Rule(layer + "norms.0.{p}", to_layer + "self_attn_layer_norm.{p}"),
        _Rule(layer + "norms.1.{p}", to_layer + "final_layer_norm.{p}"),
        _Rule(src + "level_encoding.weight", dst + "level_embed"),
        _Rule(src + "lateral_convs.0.conv.{p}", dst + "adapter_1.0.{p}"),
        _Rule(src + "lateral_convs.0.gn.{p}", dst + "adapter_1.1.{p}"),
        _Rule(src + "output_convs.0.conv.{p}", dst + "layer_1.0.{p}"),
        _Rule(src + "output_convs.0.gn.{p}", dst + "layer_1.1.{p}"),
        _Rule(src + "mask_feature.{p}", dst + "mask_projection.{p}"),
    ]


def _head_rules() -> list[_Rule]:
    src, dst = "panoptic_head.", f"{TRANSFORMER}."
    layer = src + "transformer_decoder.layers.{n}."
    to_layer = dst + "decoder.layers.{n}."
    rules = [
        _Rule(src + "query_embed.weight", dst + "queries_embedder.weight"),
        _Rule(src + "query_feat.weight", dst + "queries_features.weight"),
        _Rule(src + "level_embed.weight", dst + "level_embed.weight"),
        _Rule(layer + "attentions.0.attn.{p}", to_layer + "cross_attn.{p}"),  # in_proj_weight, in_proj_bias
        _Rule(layer + "attentions.0.attn.out_proj.{p}", to_layer + "cross_attn.out_proj.{p}"),
        _Rule(layer + "attentions.1.attn.in_proj_{p}", to_layer + "self_attn.{qkv}_proj.{p}", SPLIT_QKV),
        _Rule(layer + "attentions.1.attn.out_proj.{p}", to_layer + "self_attn.out_proj.{p}"),
        _Rule(layer + "ffns.0.layers.0.0.{p}", to_layer + "fc1.{p}"),
        _Rule(layer + "ffns.0.layers.1.{p}", to_layer + "fc2.{p}"),
        _Rule(layer + "norms.0.{p}", to_layer + "cross_attn_layer_norm.{p}"),
        _Rule(layer + "norms.1.{p}", to_layer + "self_attn_layer_norm.{p}"),
        _Rule(layer + "norms.2.{p}", to_layer + "final_layer_norm.{p}"),
        _Rule(src + "transformer_decoder.post_norm.{p}", dst + "decoder.layernorm.{p}"),
        _Rule(src + "cls_embed.{p}", "class_predictor.{p}"),
    ]
    rules += [_Rule(f"{src}mask_embed.{2 * n}.{{p}}", f"{dst}decoder.mask_predictor.mask_embedder.{n}.0.{{p}}")
              for n in range(3)]
    return rules


RULES = tuple(_backbone_rules() + _pixel_decoder_rules() + _head_rules())
_MMDET_PATTERNS = [(r, r.pattern("mmdet")) for r in RULES]
_MODEL_PATTERNS = [(r, r.pattern("model")) for r in RULES]

# mmdet 3.x name -> 2.x name, inside the given panoptic-head prefixes only.
_PIXEL_LAYER = r"panoptic_head\.pixel_decoder\.encoder\.layers\.\d+\."
_DECODER_LAYER = r"panoptic_head\.transformer_decoder\.layers\.\d+\."
_V3_NAMES = (
    (_PIXEL_LAYER, "self_attn.", "attentions.0."),
    (_PIXEL_LAYER, "ffn.", "ffns.0."),
    (_DECODER_LAYER, "cross_attn.", "attentions.0."),
    (_DECODER_LAYER, "self_attn.", "attentions.1."),
    (_DECODER_LAYER, "ffn.", "ffns.0."),
)


def _rename_after(prefix: str, old: str, new: str, key: str) -> str:
    return re.sub(f"^({prefix}){re.escape(old)}", lambda m: m.group(1) + new, key)


def _v3_to_v2(key: str) -> str:
    for prefix, v3, v2 in _V3_NAMES:
        key = _rename_after(prefix, v3, v2, key)
    return key


def _v2_to_v3(key: str) -> str:
    for prefix, v3, v2 in _V3_NAMES:
        key = _rename_after(prefix, v2, v3, key)
    return key


def _merge_to_model(t: torch.Tensor) -> torch.Tensor:
    """Unfold channel order (c*4 + u) -> concat order (k*C + c) on the last axis."""
    lead, channels = t.shape[:-1], t.shape[-1] // 4
    t = t.reshape(*lead, channels, 4)[..., MERGE_ORDER]
    return t.transpose(-1, -2).reshape(*lead, 4 * channels)


def _merge_to_mmdet(t: torch.Tensor) -> torch.Tensor:
    lead, channels = t.shape[:-1], t.shape[-1] // 4
    t = t.reshape(*lead, 4, channels)[..., MERGE_ORDER, :]
    return t.transpose(-1, -2).reshape(*lead, 4 * channels)


def _match(key: str, patterns) -> tuple[_Rule, dict] | None:
    for rule, pattern in patterns:
        m = pattern.match(key)
        if m:
            return rule, m.groupdict()
    return None


def _few(keys: Iterable[str], n: int = 5) -> str:
    keys = sorted(keys)
    more = f" (+{len(keys) - n} more)" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more


def _map_checkpoint(state_dict: dict) -> tuple[dict, list[str]]:
    out, unused = {}, []
    for key, tensor in state_dict.items():
        if any(p.fullmatch(key) for p in DROPPED_CHECKPOINT_KEYS):
            continue
        found = _match(_v3_to_v2(key), _MMDET_PATTERNS)
        if found is None:
            unused.append(key)
            continue
        rule, fields = found
        if rule.kind == SPLIT_QKV:
            for name, part in zip("qkv", tensor.chunk(3, dim=0)):
                out[rule.model.format(qkv=name, **fields)] = part
        elif rule.kind == MERGE_REORDER:
            out[rule.model.format(**fields)] = _merge_to_model(tensor)
        else:
            out[rule.model.format(**fields)] = tensor
    return out, unused


def convert_mmdet_state_dict(state_dict: dict, model) -> dict:
    """The mmdet checkpoint's `state_dict` as a state dict for `model` (a transformers Mask2Former).

    Raises `CheckpointMismatch` if a checkpoint key is left unused, a model key is not
    produced, or a shape differs; `MODEL_ONLY_KEYS` keep the model's own values.
    """
    target = model.state_dict()
    out, unused = _map_checkpoint(state_dict)
    for key in MODEL_ONLY_KEYS:
        if key in target:
            out[key] = target[key].clone()
    problems = []
    if unused:
        problems.append(f"{len(unused)} checkpoint keys unused: {_few(unused)}")
    missing = set(target) - set(out)
    if missing:
        problems.append(f"{len(missing)} model keys not covered: {_few(missing)}")
    extra = set(out) - set(target)
    if extra:
        problems.append(f"{len(extra)} converted keys absent from the model: {_few(extra)}")
    bad_shape = [k for k in set(out) & set(target) if tuple(out[k].shape) != tuple(target[k].shape)]
    if bad_shape:
        problems.append(f"{len(bad_shape)} shape mismatches: " + ", ".join(
            f"{k} {tuple(out[k].shape)} vs {tuple(target[k].shape)}" for k in sorted(bad_shape)[:3]))
    if problems:
        raise CheckpointMismatch("checkpoint does not match the model: " + "; ".join(problems))
    return {k: out[k] for k in target}


def to_mmdet_layout(model_state_dict: dict, version: int = 2) -> dict:
    """Inverse of `convert_mmdet_state_dict` (for tests): transformers keys -> mmdet 2.x or 3.x keys."""
    if version not in (2, 3):
        raise ValueError(f"version must be 2 or 3, got {version!r}")
    out, pending = {}, {}
    for key, tensor in model_state_dict.items():
        if key in MODEL_ONLY_KEYS:
            continue
        found = _match(key, _MODEL_PATTERNS)
        if found is None:
            raise CheckpointMismatch(f"no mmdet name for model key {key}")
        rule, fields = found
        if rule.kind == SPLIT_QKV:
            qkv = fields.pop("qkv")
            pending.setdefault(rule.mmdet.format(**fields), {})[qkv] = tensor
            continue
        name = rule.mmdet.format(**fields)
        out[name] = _merge_to_mmdet(tensor) if rule.kind == MERGE_REORDER else tensor
    for name, parts in pending.items():
        out[name] = torch.cat([parts["q"], parts["k"], parts["v"]], dim=0)
    if version == 3:
        out = {_v2_to_v3(k): v for k, v in out.items()}
    return out


def official_detector_config():
    """transformers `Mask2FormerConfig` of GenEval's detector (mmdet `mask2former_swin-s-p4-w7-224_lsj_8x2_50e_coco`)."""
    from transformers import Mask2FormerConfig, SwinConfig

    backbone = SwinConfig(
        image_size=224, patch_size=4, num_channels=3, embed_dim=96, depths=[2, 2, 18, 2],
        num_heads=[3, 6, 12, 24], window_size=7, mlp_ratio=4.0, qkv_bias=True, hidden_act="gelu",
        drop_path_rate=0.0, out_features=["stage1", "stage2", "stage3", "stage4"])
    return Mask2FormerConfig(
        backbone_config=backbone, feature_size=256, mask_feature_size=256, hidden_dim=256,
        encoder_feedforward_dim=1024, encoder_layers=6, decoder_layers=10,  # 9 masked-attention layers + initial
        num_attention_heads=8, dim_feedforward=2048, dropout=0.0, pre_norm=False, num_queries=100,
        num_labels=80, feature_strides=[4, 8, 16, 32], common_stride=4)
