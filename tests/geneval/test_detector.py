"""mmdet's pipeline around Mask2Former: preprocessing, post-processing, and detect() on a tiny random model."""

import hashlib
import math

import numpy as np
import pytest
import torch
from PIL import Image

from ddit_eval.errors import UsageError
from ddit_eval.geneval.convert import to_mmdet_layout
from ddit_eval.geneval.detector import (COCO_CLASSES, ImageMeta, Mask2FormerDetector, load_official_detector,
                                        postprocess, preprocess)
from ddit_eval.metrics.geneval import Detection

cv2 = pytest.importorskip("cv2")
pytest.importorskip("scipy")


def tiny_config():
    from transformers import Mask2FormerConfig, SwinConfig

    backbone = SwinConfig(embed_dim=16, depths=[1, 1, 2, 1], num_heads=[1, 1, 2, 2], window_size=7,
                          out_features=["stage1", "stage2", "stage3", "stage4"])
    return Mask2FormerConfig(backbone_config=backbone, feature_size=32, mask_feature_size=32, hidden_dim=32,
                             encoder_feedforward_dim=64, dim_feedforward=64, encoder_layers=2, decoder_layers=3,
                             num_attention_heads=4, num_queries=10, num_labels=80)


def tiny_model(seed=0):
    from transformers import Mask2FormerForUniversalSegmentation

    torch.manual_seed(seed)
    return Mask2FormerForUniversalSegmentation(tiny_config()).eval()


# ---- a plain restatement of the post-processing, one spec sentence at a time ----

def _bilinear(image, out_h, out_w):
    """Bilinear resize with half-pixel centres (align_corners=False), coordinates clamped at 0."""
    in_h, in_w = image.shape
    out = np.zeros((out_h, out_w))
    for y in range(out_h):
        sy = max((y + 0.5) * in_h / out_h - 0.5, 0.0)
        y0 = int(math.floor(sy)); y1 = min(y0 + 1, in_h - 1); wy = sy - y0
        for x in range(out_w):
            sx = max((x + 0.5) * in_w / out_w - 0.5, 0.0)
            x0 = int(math.floor(sx)); x1 = min(x0 + 1, in_w - 1); wx = sx - x0
            top = image[y0, x0] * (1 - wx) + image[y0, x1] * wx
            bottom = image[y1, x0] * (1 - wx) + image[y1, x1] * wx
            out[y, x] = top * (1 - wy) + bottom * wy
    return out


def reference_postprocess(class_logits, mask_logits, meta):
    class_logits, mask_logits = np.float64(class_logits), np.float64(mask_logits)
    results = []
    # class probability: softmax over the 81 logits, no-object dropped
    exp = np.exp(class_logits - class_logits.max(axis=1, keepdims=True))
    probs = (exp / exp.sum(axis=1, keepdims=True))[:, :80]
    # top 100 (query, class) pairs by class probability
    pairs = sorted(((probs[q, c], q, c) for q in range(probs.shape[0]) for c in range(80)),
                   key=lambda t: -t[0])[:100]
    for prob, q, c in pairs:
        # upsample to the padded size, crop the padding, resize to the original size
        logits = _bilinear(mask_logits[q], *meta.pad_shape)
        logits = logits[: meta.img_shape[0], : meta.img_shape[1]]
        logits = _bilinear(logits, *meta.ori_shape)
        # mask = logit > 0
        mask = logits > 0
        # score = class prob x mean sigmoid inside the mask (0 if empty)
        inside = 1 / (1 + np.exp(-logits[mask]))
        score = prob * inside.mean() if mask.any() else 0.0
        # box = tight box of the mask, x2 and y2 exclusive
        box = (0, 0, 0, 0)
        if mask.any():
            ys, xs = np.nonzero(mask)
            box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        results.append((COCO_CLASSES[c], score, box, mask, logits))
    return results


def test_postprocess_matches_restatement():
    rng = np.random.default_rng(0)
    queries = 4
    class_logits = rng.normal(size=(queries, 81)) * 3
    mask_logits = rng.normal(size=(queries, 6, 8)) * 2 - 1
    mask_logits[2] = -5.0  # an empty mask
    mask_logits[3, :, :] = -5.0
    mask_logits[3, 1, 2] = 8.0  # a small blob
    meta = ImageMeta(ori_shape=(19, 27), img_shape=(22, 29), pad_shape=(24, 32))
    got = postprocess(torch.tensor(class_logits, dtype=torch.float32),
                      torch.tensor(mask_logits, dtype=torch.float32), meta)
    want = reference_postprocess(class_logits, mask_logits, meta)
    assert len(got) == len(want) == 100
    assert all(isinstance(d, Detection) for d in got)
    empties = 0
    for det, (label, score, box, mask, logits) in zip(got, want):
        assert det.label == label
        assert det.score == pytest.approx(score, rel=1e-5, abs=1e-7)
        clear = np.abs(logits) > 1e-4  # pixels a rounding difference cannot flip
        assert np.array_equal(det.mask[clear], mask[clear])
        assert det.box == tuple(float(v) for v in box)
        empties += not mask.any()
    assert empties > 0  # the empty mask was among the top pairs, with score 0 and box 0
    assert any(d.score == 0 and d.box == (0.0, 0.0, 0.0, 0.0) for d in got)


def test_box_is_exclusive_and_padding_is_cropped():
    class_logits = torch.full((1, 81), -10.0)
    class_logits[0, 0] = 10.0  # person
    mask_logits = torch.full((1, 8, 8), -10.0)
    mask_logits[0, 2:4, 1:3] = 10.0
    # no resizing beyond the padding crop: padded 8x8, image 6x5, original 6x5
    meta = ImageMeta(ori_shape=(6, 5), img_shape=(6, 5), pad_shape=(8, 8))
    det = postprocess(class_logits, mask_logits, meta)[0]
    assert det.label == "person" and det.mask.shape == (6, 5)
    assert det.box == (1.0, 2.0, 3.0, 4.0)
    assert det.score == pytest.approx(torch.sigmoid(torch.tensor(10.0)).item(), rel=1e-4)


@pytest.mark.parametrize("size, resized, padded", [
    ((512, 512), (800, 800), (800, 800)),
    ((640, 480), (1067, 800), (1088, 800)),
    ((1000, 200), (1333, 267), (1344, 288)),
    ((300, 700), (571, 1333), (576, 1344)),  # long side binds
])
def test_preprocess_sizes(size, resized, padded):
    tensor, meta = preprocess(Image.new("RGB", size, (10, 20, 30)))
    assert meta.ori_shape == (size[1], size[0])
    assert meta.img_shape == (resized[1], resized[0])
    assert meta.pad_shape == (padded[1], padded[0])
    assert tensor.shape == (1, 3, padded[1], padded[0]) and tensor.dtype == torch.float32


def test_preprocess_values_match_cv2():
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(48, 64, 3), dtype=np.uint8)
    tensor, meta = preprocess(Image.fromarray(pixels))
    # mmdet reads BGR, resizes, pads with 128 to a multiple of 32, then (mmcv.imnormalize) converts
    # to RGB and normalises with cv2, its mean/std being float32 arrays cast to float64
    bgr = cv2.resize(pixels[:, :, ::-1].copy(), (1067, 800), interpolation=cv2.INTER_LINEAR)
    bgr = cv2.copyMakeBorder(bgr, 0, 0, 0, 1088 - 1067, cv2.BORDER_CONSTANT, value=(128, 128, 128))
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32)
    mean = np.float64(np.array([[123.675, 116.28, 103.53]], dtype=np.float32))
    stdinv = 1 / np.float64(np.array([[58.395, 57.12, 57.375]], dtype=np.float32))
    cv2.subtract(rgb, mean, rgb)
    cv2.multiply(rgb, stdinv, rgb)
    # bit-exact: the random-weight parity run showed 1-ulp input differences moving scores by 1.5e-4
    np.testing.assert_array_equal(tensor[0].permute(1, 2, 0).numpy(), rgb)
    assert meta == ImageMeta((48, 64), (800, 1067), (800, 1088))


def test_padding_is_grey_128_normalised_like_the_image():
    # regression: the padding once was 0 after normalisation; mmdet 2.28.2 gives 0.0741, 0.2052, 0.4265 (R, G, B)
    tensor, _ = preprocess(Image.new("RGB", (640, 480), (0, 0, 0)))
    padding = tensor[0, :, :, 1067:].flatten(1)
    expected = (128 - np.array([123.675, 116.28, 103.53])) / np.array([58.395, 57.12, 57.375])
    np.testing.assert_allclose(padding.min(1).values.numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(padding.max(1).values.numpy(), expected, atol=1e-6)


def test_detect_end_to_end_on_tiny_model():
    detector = Mask2FormerDetector(tiny_model())
    images = [Image.new("RGB", (40, 30), (200, 30, 30)), Image.new("RGB", (32, 32), (0, 0, 255)),
              Image.new("RGB", (40, 30), (20, 230, 30))]
    batch = detector.detect_batch(images)
    single = detector.detect(images[1])
    assert [len(r) for r in batch] == [100, 100, 100]
    assert all(isinstance(d, Detection) and d.label in COCO_CLASSES for d in batch[0])
    assert batch[0][0].mask.shape == (30, 40) and batch[1][0].mask.shape == (32, 32)
    assert all(0.0 <= d.score <= 1.0 for d in batch[0])
    assert [(d.label, d.score, d.box) for d in single] == [(d.label, d.score, d.box) for d in batch[1]]


def test_load_official_detector_checks_and_loads(tmp_path):
    missing = tmp_path / "nothing.pth"
    with pytest.raises(UsageError, match="not found at .*nothing.pth: download mask2former_swin-s"):
        load_official_detector(missing)
    model = tiny_model(seed=3)
    path = tmp_path / "tiny.pth"
    torch.save({"meta": {"mmdet_version": "2.28.2"}, "state_dict": to_mmdet_layout(model.state_dict())}, path)
    with pytest.raises(UsageError, match="has sha256"):
        load_official_detector(path, sha256="0" * 64)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    detector = load_official_detector(path, sha256=digest, config=tiny_config())
    loaded = detector.model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in model.state_dict().items())
    renamed = tmp_path / "tiny-00000000.pth"  # mmdet-style name whose hash prefix does not match
    renamed.write_bytes(path.read_bytes())
    with pytest.raises(UsageError, match="expected 00000000"):
        load_official_detector(renamed, config=tiny_config())
    with pytest.raises(UsageError, match="is not the GenEval Mask2Former"):
        load_official_detector(path, config=tiny_config().__class__(**{**tiny_config().to_dict(), "num_queries": 5}))
