"""The mmdet -> transformers key map, checked on a tiny random Mask2Former of the same family."""

import pytest
import torch
from torch import nn

from ddit_eval.geneval import convert
from ddit_eval.geneval.convert import (CheckpointMismatch, convert_mmdet_state_dict, official_detector_config,
                                       to_mmdet_layout)

transformers = pytest.importorskip("transformers")
pytest.importorskip("scipy")  # Mask2FormerForUniversalSegmentation builds its loss, which needs scipy


def tiny_model(seed: int = 0):
    from transformers import Mask2FormerConfig, Mask2FormerForUniversalSegmentation, SwinConfig

    backbone = SwinConfig(embed_dim=16, depths=[1, 1, 2, 1], num_heads=[1, 1, 2, 2], window_size=7,
                          out_features=["stage1", "stage2", "stage3", "stage4"])
    config = Mask2FormerConfig(backbone_config=backbone, feature_size=32, mask_feature_size=32, hidden_dim=32,
                               encoder_feedforward_dim=64, dim_feedforward=64, encoder_layers=2, decoder_layers=3,
                               num_attention_heads=4, num_queries=10, num_labels=80)
    torch.manual_seed(seed)
    model = Mask2FormerForUniversalSegmentation(config).eval()
    with torch.no_grad():  # make every parameter distinct (norms start at 1/0, biases at 0)
        for param in model.parameters():
            param.copy_(torch.randn_like(param) * 0.1)
    return model


@pytest.fixture(scope="module")
def model():
    return tiny_model()


@pytest.mark.parametrize("version", [2, 3])
def test_round_trip_covers_every_key(model, version):
    original = model.state_dict()
    mmdet = to_mmdet_layout(original, version=version)
    assert any(k.startswith("backbone.stages.0.blocks.0.attn.w_msa.qkv") for k in mmdet)
    if version == 3:
        assert "panoptic_head.transformer_decoder.layers.0.cross_attn.attn.in_proj_weight" in mmdet
        assert "panoptic_head.pixel_decoder.encoder.layers.0.ffn.layers.0.0.weight" in mmdet
    else:
        assert "panoptic_head.transformer_decoder.layers.0.attentions.1.attn.in_proj_weight" in mmdet
    # a checkpoint buffer that is dropped on purpose
    mmdet["backbone.stages.0.blocks.0.attn.w_msa.relative_position_index"] = torch.zeros(49, 49, dtype=torch.long)
    converted = convert_mmdet_state_dict(mmdet, model)
    assert list(converted) == list(original)
    for key, value in original.items():
        assert torch.equal(converted[key], value), key


def test_official_layout_names(model):
    mmdet = to_mmdet_layout(model.state_dict())
    assert mmdet["backbone.stages.0.blocks.0.attn.w_msa.qkv.weight"].shape == (48, 16)
    assert mmdet["backbone.stages.0.downsample.reduction.weight"].shape == (32, 64)
    assert "backbone.norm3.weight" in mmdet and "panoptic_head.mask_embed.4.bias" in mmdet
    assert "panoptic_head.pixel_decoder.level_encoding.weight" in mmdet
    assert not any(k.startswith("criterion") or ".swin.layernorm" in k for k in mmdet)


def test_missing_and_extra_keys_raise(model):
    mmdet = to_mmdet_layout(model.state_dict())
    missing = dict(mmdet)
    del missing["panoptic_head.cls_embed.weight"]
    with pytest.raises(CheckpointMismatch, match="model keys not covered: class_predictor.weight"):
        convert_mmdet_state_dict(missing, model)
    extra = dict(mmdet, **{"panoptic_head.loss_mystery.weight": torch.zeros(1)})
    with pytest.raises(CheckpointMismatch, match="checkpoint keys unused: panoptic_head.loss_mystery.weight"):
        convert_mmdet_state_dict(extra, model)
    wrong = dict(mmdet, **{"panoptic_head.cls_embed.bias": torch.zeros(5)})
    with pytest.raises(CheckpointMismatch, match="shape mismatches: class_predictor.bias"):
        convert_mmdet_state_dict(wrong, model)


def test_swin_final_layernorm_is_unused(model):
    """The one backbone key mmdet lacks really does not reach the outputs."""
    pixels = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        before = model(pixel_values=pixels)
        norm = model.model.pixel_level_module.encoder.swin.layernorm
        saved = norm.weight.clone()
        norm.weight.mul_(3.0)
        after = model(pixel_values=pixels)
        norm.weight.copy_(saved)
    assert torch.equal(before.masks_queries_logits, after.masks_queries_logits)


def _mmdet_patch_merge(x, norm: nn.LayerNorm, reduction: nn.Linear):
    """mmdet's patch merging, restated: (B, C, H, W) -> Unfold(2, stride 2) -> norm -> linear."""
    b = x.shape[0]
    unfolded = nn.Unfold(kernel_size=2, stride=2)(x)  # (B, C*4, L), channel-major
    return reduction(norm(unfolded.transpose(1, 2))).reshape(b, -1, reduction.out_features)


def test_patch_merging_reorder_matches_unfold_reference():
    from transformers.models.swin.modeling_swin import SwinPatchMerging

    torch.manual_seed(1)
    channels, height, width = 6, 8, 10
    norm, reduction = nn.LayerNorm(4 * channels), nn.Linear(4 * channels, 2 * channels, bias=False)
    with torch.no_grad():
        norm.weight.copy_(torch.randn(4 * channels))
        norm.bias.copy_(torch.randn(4 * channels))
    x = torch.randn(2, channels, height, width)
    reference = _mmdet_patch_merge(x, norm, reduction)

    def merged(reorder):
        layer = SwinPatchMerging(dim=channels)
        with torch.no_grad():
            layer.norm.weight.copy_(reorder(norm.weight.detach()))
            layer.norm.bias.copy_(reorder(norm.bias.detach()))
            layer.reduction.weight.copy_(reorder(reduction.weight.detach()))
            tokens = x.permute(0, 2, 3, 1).reshape(2, height * width, channels)
            return layer(tokens, (height, width))

    torch.testing.assert_close(merged(convert._merge_to_model), reference, atol=1e-6, rtol=0)
    assert (merged(lambda t: t) - reference).abs().max() > 0.1  # without the reorder: wrong by O(1)

    def reorder_without_transpose(t):  # (out, C, 4) -> [0, 2, 1, 3] -> flatten, with no neighbour-major transpose
        return t.reshape(*t.shape[:-1], channels, 4)[..., [0, 2, 1, 3]].reshape(t.shape)

    assert (merged(reorder_without_transpose) - reference).abs().max() > 0.1


def test_official_config_sizes():
    config = official_detector_config()
    assert config.backbone_config.embed_dim == 96
    assert list(config.backbone_config.depths) == [2, 2, 18, 2]
    assert list(config.backbone_config.num_heads) == [3, 6, 12, 24]
    assert config.backbone_config.window_size == 7
    assert (config.encoder_layers, config.encoder_feedforward_dim, config.decoder_layers) == (6, 1024, 10)
    assert (config.num_queries, config.num_labels, config.hidden_dim) == (100, 80, 256)
