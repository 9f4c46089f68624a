"""GenEval's detector without mmdet: mmdet's test pipeline and instance post-processing around transformers' Mask2Former.

Preprocessing (mmdet 2.x `mask2former_swin-s-p4-w7-224_lsj_8x2_50e_coco` test pipeline):
OpenCV bilinear resize keeping the aspect ratio to short side 800 / long side at most
1333, padding at the bottom/right to a multiple of 32 with pixel value 128 (the config's
`Pad` step, `pad_val=dict(img=(128, 128, 128))`, comes BEFORE `Normalize`), then RGB and
ImageNet mean/std in 0-255 units over the padded image.

Post-processing (mmdet's Mask2Former instance results): mask logits are upsampled
bilinearly to the padded size, the padding is cropped, and they are resized bilinearly
to the original size; class probabilities are the softmax over the 81 logits with
the no-object column dropped; the top 100 (query, class) pairs by that probability are
kept; mask = logit > 0; score = class prob x mean sigmoid inside the mask (sum /
(area + 1e-6) as mmdet computes it, so 0 for an empty mask); box = tight box of the
mask with x2, y2 exclusive (0, 0, 0, 0 for an empty mask).
"""

from __future__ import annotations

import os
import pickle
import re
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..errors import UsageError
from ..metrics.geneval import Detection
from .convert import CheckpointMismatch, convert_mmdet_state_dict, official_detector_config
from ..provenance import file_sha256

# The 80 COCO thing classes in mmdet's index order, with GenEval's names.
COCO_CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "computer mouse", "tv remote",
    "computer keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock",
    "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
)
OFFICIAL_CHECKPOINT = "mask2former_swin-s-p4-w7-224_lsj_8x2_50e_coco_20220504_001756-743b7d99.pth"
SCALE = (1333, 800)  # long side at most, short side
MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)
SIZE_DIVISOR = 32
PAD_VALUE = 128  # raw pixel value of the padding, normalised with the image
MAX_PER_IMAGE = 100


@dataclass(frozen=True)
class ImageMeta:
    """Shapes (height, width) along mmdet's pipeline: original, resized, padded."""

    ori_shape: tuple[int, int]
    img_shape: tuple[int, int]
    pad_shape: tuple[int, int]


def resized_size(width: int, height: int, scale: tuple[int, int] = SCALE) -> tuple[int, int]:
    """(width, height) after mmcv's keep-ratio rescale: the largest factor fitting both limits, rounded half up."""
    factor = min(max(scale) / max(width, height), min(scale) / min(width, height))
    return int(width * factor + 0.5), int(height * factor + 0.5)


def preprocess(image: Image.Image) -> tuple[torch.Tensor, ImageMeta]:
    """A PIL image -> (1x3xHxW float32 tensor padded to a multiple of 32, ImageMeta).

    Each step makes the cv2 call that mmcv makes (imresize, impad, imnormalize), in mmdet's
    order and on its BGR array, so the values equal mmdet's under whichever cv2 is installed
    (cv2's float kernels differ between major versions and CPUs; numpy's would not follow them).
    """
    import cv2

    bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
    height, width = bgr.shape[:2]
    new_w, new_h = resized_size(width, height)
    resized = cv2.resize(bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    pad_h = -(-new_h // SIZE_DIVISOR) * SIZE_DIVISOR
    pad_w = -(-new_w // SIZE_DIVISOR) * SIZE_DIVISOR
    padded = cv2.copyMakeBorder(resized, 0, pad_h - new_h, 0, pad_w - new_w, cv2.BORDER_CONSTANT,
                                value=(PAD_VALUE,) * 3)
    tensor = torch.from_numpy(imnormalize_to_rgb(padded)).permute(2, 0, 1).unsqueeze(0).contiguous()
    return tensor, ImageMeta((height, width), (new_h, new_w), (pad_h, pad_w))


def imnormalize_to_rgb(bgr: np.ndarray) -> np.ndarray:
    """mmcv.imnormalize(img, MEAN, STD, to_rgb=True): float32 copy, cv2 BGR->RGB, cv2.subtract of the
    float64 mean, cv2.multiply by the float64 1/std (mmdet's config gives mean/std as float32 arrays)."""
    import cv2

    out = bgr.astype(np.float32)
    mean = np.float64(MEAN.reshape(1, -1))
    stdinv = 1 / np.float64(STD.reshape(1, -1))
    cv2.cvtColor(out, cv2.COLOR_BGR2RGB, out)
    cv2.subtract(out, mean, out)
    cv2.multiply(out, stdinv, out)
    return out


def _box(mask: np.ndarray) -> tuple[float, float, float, float]:
    cols, rows = np.flatnonzero(mask.any(axis=0)), np.flatnonzero(mask.any(axis=1))
    if cols.size == 0:
        return (0.0, 0.0, 0.0, 0.0)
    return (float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1))


def postprocess(class_logits: torch.Tensor, mask_logits: torch.Tensor, meta: ImageMeta,
                max_per_image: int = MAX_PER_IMAGE) -> list[Detection]:
    """One image's (Q, 81) class logits and (Q, h, w) mask logits -> detections, by class probability.

    Ties in class probability keep the lower flat (query * 80 + class) index first.
    """
    num_classes = class_logits.shape[-1] - 1
    if num_classes != len(COCO_CLASSES):
        raise ValueError(f"class_logits must have {len(COCO_CLASSES) + 1} columns (80 COCO + no-object), "
                         f"got {class_logits.shape[-1]}")
    probs = class_logits.float().softmax(dim=-1)[:, :num_classes].flatten()
    order = torch.sort(probs, descending=True, stable=True).indices[:max_per_image]
    queries, labels = order // num_classes, order % num_classes
    # Resize only the queries that were picked; each mask is resized on its own, so the values are the same.
    picked, inverse = torch.unique(queries, return_inverse=True)
    masks = F.interpolate(mask_logits[picked].float()[None], size=meta.pad_shape, mode="bilinear",
                          align_corners=False)
    masks = masks[:, :, : meta.img_shape[0], : meta.img_shape[1]]
    masks = F.interpolate(masks, size=meta.ori_shape, mode="bilinear", align_corners=False)[0]
    binary = masks > 0
    area = binary.flatten(1).sum(1)
    mask_scores = (masks.sigmoid() * binary).flatten(1).sum(1) / (area + 1e-6)
    scores = probs[order] * mask_scores[inverse]
    binary_np = binary.cpu().numpy()
    detections = []
    for i in range(order.numel()):
        mask = binary_np[inverse[i]]
        detections.append(Detection(label=COCO_CLASSES[labels[i]], score=float(scores[i]), box=_box(mask),
                                    mask=mask.copy()))
    return detections


class Mask2FormerDetector:
    """The `Detector` protocol over a transformers Mask2Former, with mmdet's pre- and post-processing."""

    def __init__(self, model, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                 batch_size: int = 4) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.device, self.dtype, self.batch_size = torch.device(device), dtype, batch_size
        self.model = model.to(device=self.device, dtype=dtype).eval()

    def detect(self, image: Image.Image) -> list[Detection]:
        return self.detect_batch([image])[0]

    @torch.inference_mode()
    def detect_batch(self, images: Sequence[Image.Image]) -> list[list[Detection]]:
        """Detections per image; images are batched only with others of the same padded size,
        so each result equals the single-image one."""
        prepared = [preprocess(image) for image in images]
        groups: dict[tuple[int, int], list[int]] = {}
        for index, (_, meta) in enumerate(prepared):
            groups.setdefault(meta.pad_shape, []).append(index)
        results: list[Optional[list[Detection]]] = [None] * len(images)
        for indices in groups.values():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start:start + self.batch_size]
                pixels = torch.cat([prepared[i][0] for i in chunk]).to(self.device, self.dtype)
                outputs = self.model(pixel_values=pixels)
                for row, i in enumerate(chunk):
                    results[i] = postprocess(outputs.class_queries_logits[row], outputs.masks_queries_logits[row],
                                             prepared[i][1])
        return results


def _read_checkpoint(path: str, verified: bool) -> dict:
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        if not verified:
            raise UsageError(f"{path} holds objects beyond tensors; pass its sha256 to allow loading it in full")
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    return checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else checkpoint


def load_official_detector(weights_path: str, sha256: Optional[str] = None, device: str = "cpu",
                           dtype: torch.dtype = torch.float32, config=None) -> Mask2FormerDetector:
    """GenEval's detector from the mmdet checkpoint file (`OFFICIAL_CHECKPOINT`, or the mmdet 3.x file).

    `sha256` is checked when given; otherwise a file name ending in mmdet's `-<8 hex>.pth`
    is checked against that sha256 prefix. `config` defaults to `official_detector_config()`.
    """
    from transformers import Mask2FormerForUniversalSegmentation

    path = os.fspath(weights_path)
    if not os.path.isfile(path):
        raise UsageError(f"GenEval detector weights not found at {path}: download {OFFICIAL_CHECKPOINT} "
                         "(MMDetection model zoo, Mask2Former Swin-S COCO) and put it there")
    named = re.search(r"-([0-9a-f]{8})\.pth$", os.path.basename(path))
    if sha256 is not None or named:
        actual = file_sha256(path)
        expected = sha256.lower() if sha256 is not None else named.group(1)
        matches = actual == expected if sha256 is not None else actual.startswith(expected)
        if not matches:
            raise UsageError(f"{path} has sha256 {actual}, expected {expected}: replace it with {OFFICIAL_CHECKPOINT}")
    model = Mask2FormerForUniversalSegmentation(config or official_detector_config())
    try:
        state_dict = convert_mmdet_state_dict(_read_checkpoint(path, verified=sha256 is not None), model)
    except CheckpointMismatch as error:
        raise UsageError(f"{path} is not the GenEval Mask2Former Swin-S checkpoint ({error})") from None
    model.load_state_dict(state_dict, strict=True)
    return Mask2FormerDetector(model, device=device, dtype=dtype)
