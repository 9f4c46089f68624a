"""Analytic GenEval detector and color classifier for shape images.

Detector: pixels far from the background (the median border color) are
snapped to the nearest of GenEval's 10 color prototypes; each connected
region of one color (4-connectivity) big enough to be a shape is a candidate;
its class is the shape whose template, drawn into the region's tight box,
overlaps it best.  The score is that IoU times the region's isolation, the
share of pixels within 2 px of it that are background: a drawn shape sits on
the background (score 1.0 for a rendered one), whereas noise and texture form
clumps that touch other colors and must not count as objects.  GenEval's
0.3 / 0.9 thresholds apply to the score as to Mask2Former's.
Color classifier: the mean color inside the mask, nearest prototype.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from ..metrics.geneval import COLORS, Detection
from .scenes import COLOR_RGB, KINDS, draw_shape

_PROTOTYPES = np.array([COLOR_RGB[c] for c in COLORS], dtype=np.float32)


def _nearest_color(pixels: np.ndarray) -> np.ndarray:
    """Index into COLORS of the nearest prototype for each RGB row."""
    dist = ((pixels[:, None, :].astype(np.float32) - _PROTOTYPES[None]) ** 2).sum(-1)
    return dist.argmin(1)


def _components(labels: np.ndarray) -> list[np.ndarray]:
    """Connected regions (4-neighbours) of equal nonzero label, as boolean masks."""
    h, w = labels.shape
    seen = np.zeros_like(labels, dtype=bool)
    regions = []
    for y0, x0 in zip(*np.nonzero(labels)):
        if seen[y0, x0]:
            continue
        value, stack, pixels = labels[y0, x0], [(y0, x0)], []
        seen[y0, x0] = True
        while stack:
            y, x = stack.pop()
            pixels.append((y, x))
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < h and 0 <= nx < w and not seen[ny, nx] and labels[ny, nx] == value:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        mask = np.zeros_like(seen)
        ys, xs = zip(*pixels)
        mask[list(ys), list(xs)] = True
        regions.append(mask)
    return regions


def _dilate(mask: np.ndarray, steps: int) -> np.ndarray:
    """Grow a boolean mask by `steps` pixels (4-neighbours), clipped at the image border."""
    for _ in range(steps):
        grown = mask.copy()
        grown[1:] |= mask[:-1]
        grown[:-1] |= mask[1:]
        grown[:, 1:] |= mask[:, :-1]
        grown[:, :-1] |= mask[:, 1:]
        mask = grown
    return mask


def _template(kind: str, box: tuple[int, int, int, int], shape: tuple[int, int]) -> np.ndarray:
    canvas = Image.new("L", (shape[1], shape[0]), 0)
    draw_shape(ImageDraw.Draw(canvas), kind, box, 255)
    return np.asarray(canvas) > 0


class ShapeDetector:
    """Connected components by color, classified by template IoU (see module docstring).

    `min_area` (a fraction of the image) is half the smallest rendered shape (a cross, 0.027).
    """

    def __init__(self, kinds: Sequence[str] = KINDS, background_distance: float = 60.0, min_area: float = 0.0135,
                 ring: int = 2):
        self.kinds, self.background_distance, self.min_area, self.ring = tuple(kinds), background_distance, min_area, ring

    def detect(self, image: Image.Image) -> list[Detection]:
        rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
        h, w, _ = rgb.shape
        border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
        background = np.median(border, axis=0)
        foreground = np.sqrt(((rgb - background) ** 2).sum(-1)) > self.background_distance
        labels = np.zeros((h, w), dtype=np.int32)
        labels[foreground] = _nearest_color(rgb[foreground]) + 1
        detections = []
        for mask in _components(labels):
            if mask.sum() < self.min_area * h * w:
                continue
            ys, xs = np.nonzero(mask)
            box = (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()))
            ious = [self._iou(mask, _template(kind, box, (h, w))) for kind in self.kinds]
            best = int(np.argmax(ious))
            around = _dilate(mask, self.ring) & ~mask
            isolation = float((~foreground[around]).mean()) if around.any() else 1.0
            detections.append(Detection(self.kinds[best], ious[best] * isolation, tuple(float(v) for v in box), mask))
        return detections

    @staticmethod
    def _iou(a: np.ndarray, b: np.ndarray) -> float:
        union = np.logical_or(a, b).sum()
        return float(np.logical_and(a, b).sum() / union) if union else 0.0


class MeanColorClassifier:
    """Nearest of GenEval's 10 color prototypes to the mean color inside each detection's mask."""

    def classify(self, image: Image.Image, detections: Sequence[Detection], class_name: str) -> list[str]:
        rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
        out = []
        for det in detections:
            if det.mask is not None:
                pixels = rgb[det.mask]
            else:
                x0, y0, x1, y1 = (int(round(v)) for v in det.box[:4])
                pixels = rgb[y0 : y1 + 1, x0 : x1 + 1].reshape(-1, 3)
            out.append(COLORS[int(_nearest_color(pixels.mean(0, keepdims=True))[0])])
        return out
