"""GenEval's clause rules (official `evaluate_images.py` defaults) with pluggable detector and colors.

Per image: detections are grouped by class, sorted by score, kept above 0.3
(0.9 for every class when the prompt's tag is "counting"), at most 16, no NMS.
As in the official code (mmdet's float32 arrays), scores are compared in float32,
so a score equal to float32(0.3) is dropped; tied scores come out later-first
(the official descending order is a reversed ascending argsort); the position
rule runs in float32 and takes box sizes as absolute values (x1 < x0 allowed).
Include clause: the top-`count` detections of its class must exist; with a
color, at least `count` of them must be classified that color; with a position
(checked only if the clause matched so far), every found object must stand in
the relation to every object of the target group.  Exclude clause: fails if the
class has >= `count` detections.  An image is correct if every clause passes.
Summary: accuracy per tag, Overall = unweighted mean of the tag accuracies,
plus the fractions of correct images and of prompts with a correct image (0..1).

The detector (Mask2Former in the official release) and the color classifier
(CLIP ViT-L-14) are protocols; the shapes suite plugs in analytic ones.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Optional, Protocol, Sequence, Union

import numpy as np
from PIL import Image

from .base import Metric, check_same_length

COLORS = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white")
TAGS = ("single_object", "two_object", "counting", "colors", "position", "color_attr")
THRESHOLD = 0.3
COUNTING_THRESHOLD = 0.9
MAX_OBJECTS = 16
POSITION_THRESHOLD = 0.1  # share of the summed box sizes subtracted from the center offset
RELATION_CUTOFF = 0.5  # a direction counts when its share of the offset exceeds this


@dataclass(frozen=True)
class Detection:
    """One detected object: class name, confidence, box (x0, y0, x1, y1) and optional binary mask."""

    label: str
    score: float
    box: tuple[float, float, float, float]
    mask: Optional[np.ndarray] = field(default=None, compare=False, repr=False)


class Detector(Protocol):
    def detect(self, image: Image.Image) -> list[Detection]: ...


class ColorClassifier(Protocol):
    def classify(self, image: Image.Image, detections: Sequence[Detection], class_name: str) -> list[str]:
        """One of COLORS per detection."""


def score_order(detections: Sequence[Detection]) -> list[Detection]:
    """Descending float32 score; among equal float32 scores the later detection comes first.

    The official code takes `np.argsort(scores)[::-1]`.  Restated: a stable sort of the
    REVERSED detection order by negated float32 score (Python's sort is stable).
    """
    return sorted(reversed(list(detections)), key=lambda d: -np.float32(d.score))


def filter_detections(detections: Sequence[Detection], tag: str) -> dict[str, list[Detection]]:
    """Per class (first-seen order): sorted by score, kept if float32 score > float32 threshold, at most MAX_OBJECTS."""
    threshold = np.float32(COUNTING_THRESHOLD if tag == "counting" else THRESHOLD)
    per_class: dict[str, list[Detection]] = {}
    for det in detections:
        per_class.setdefault(det.label, []).append(det)
    kept: dict[str, list[Detection]] = {}
    for label, dets in per_class.items():
        chosen = [d for d in score_order(dets) if np.float32(d.score) > threshold][:MAX_OBJECTS]
        if chosen:
            kept[label] = chosen
    return kept


def relative_position(a: Detection, b: Detection) -> set[str]:
    """Relations of A to B: offset of centers shrunk by 0.1 x summed |dims|, over the original norm (float32)."""
    box_a, box_b = np.asarray(a.box[:4], np.float32), np.asarray(b.box[:4], np.float32)
    offset = (box_a[:2] + box_a[2:]) / np.float32(2) - (box_b[:2] + box_b[2:]) / np.float32(2)
    dims = np.abs(box_a[2:] - box_a[:2]) + np.abs(box_b[2:] - box_b[:2])
    shrunk = np.maximum(np.abs(offset) - np.float32(POSITION_THRESHOLD) * dims, np.float32(0)) * np.sign(offset)
    if np.all(np.abs(shrunk) < np.float32(1e-3)):
        return set()
    dx, dy = shrunk / np.linalg.norm(offset)
    cutoff = np.float32(RELATION_CUTOFF)
    relations = set()
    if dx < -cutoff:
        relations.add("left of")
    if dx > cutoff:
        relations.add("right of")
    if dy < -cutoff:
        relations.add("above")
    if dy > cutoff:
        relations.add("below")
    return relations


def _color_reason(clause: dict, colors: list[str]) -> str:
    seen = ", ".join(f"{colors.count(c)} {c}" for c in COLORS if c in colors)
    return (f"expected {clause['color']} {clause['class']}>={clause['count']}, "
            f"found {colors.count(clause['color'])} {clause['color']}; and {seen}")


def _position_reason(clause: dict, found: list[Detection], target: Optional[list[Detection]]) -> Optional[str]:
    relation = clause["position"][0]
    if target is None:
        return f"no target for {clause['class']} to be {relation}"
    for obj in found:
        for other in target:
            actual = relative_position(obj, other)
            if relation not in actual:
                return f"expected {clause['class']} {relation} target, found {' and '.join(sorted(actual))} target"
    return None


def check_clauses(image: Image.Image, objects: dict[str, list[Detection]], metadata: dict,
                  colors: ColorClassifier) -> tuple[bool, list[str]]:
    """Apply the include and exclude clauses to filtered detections; (correct, reasons)."""
    reasons: list[str] = []
    groups: list[Optional[list[Detection]]] = []
    for clause in metadata.get("include", []):
        found = objects.get(clause["class"], [])[: clause["count"]]
        reason = None
        if len(found) < clause["count"]:
            reason = f"expected {clause['class']}>={clause['count']}, found {len(found)}"
        elif "color" in clause:
            named = colors.classify(image, found, clause["class"])
            if named.count(clause["color"]) < clause["count"]:
                reason = _color_reason(clause, named)
        if reason is None and "position" in clause:
            reason = _position_reason(clause, found, groups[clause["position"][1]])
        groups.append(found if reason is None else None)
        if reason is not None:
            reasons.append(reason)
    for clause in metadata.get("exclude", []):
        n = len(objects.get(clause["class"], []))
        if n >= clause["count"]:
            reasons.append(f"expected {clause['class']}<{clause['count']}, found {n}")
    return not reasons, reasons


def evaluate_image(image: Union[str, Image.Image], metadata: dict, detector: Detector,
                   colors: ColorClassifier) -> dict:
    """One official `results.jsonl` row (filename, tag, prompt, correct, reason, metadata, details)."""
    filename = image if isinstance(image, (str, os.PathLike)) else None
    if filename is not None:
        with Image.open(filename) as f:
            image = f.convert("RGB")
    objects = filter_detections(detector.detect(image), metadata["tag"])
    correct, reasons = check_clauses(image, objects, metadata, colors)
    details = {name: [[*map(float, d.box[:4]), float(d.score)] for d in dets] for name, dets in objects.items()}
    return {"filename": str(filename) if filename else None, "tag": metadata["tag"], "prompt": metadata["prompt"],
            "correct": bool(correct), "reason": "\n".join(reasons), "metadata": json.dumps(metadata),
            "details": json.dumps(details)}


def summarize(rows: Sequence[dict]) -> dict[str, float]:
    """Per-tag accuracy, overall = mean of tag accuracies, % correct images and prompts (0..1)."""
    by_tag: dict[str, list[bool]] = defaultdict(list)
    by_prompt: dict[str, list[bool]] = defaultdict(list)
    for row in rows:
        by_tag[row["tag"]].append(row["correct"])
        by_prompt[row["metadata"]].append(row["correct"])
    out = {tag: float(np.mean(v)) for tag, v in sorted(by_tag.items(), key=lambda kv: _tag_order(kv[0]))}
    out["overall"] = float(np.mean(list(out.values())))
    out["correct_images"] = float(np.mean([r["correct"] for r in rows]))
    out["correct_prompts"] = float(np.mean([any(v) for v in by_prompt.values()]))
    return out


def _tag_order(tag: str) -> tuple[int, str]:
    return (TAGS.index(tag) if tag in TAGS else len(TAGS), tag)


def write_results_jsonl(rows: Sequence[dict], path: str) -> None:
    """The official results file: one JSON object per image."""
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.writelines(json.dumps(row) + "\n" for row in rows)
    os.replace(tmp, path)


class GenEvalScore(Metric):
    """GenEval over prompts: `update` scores the images of prompts, `compute` summarizes.

    Per-sample (per prompt) score `correct_images` is the fraction of its images correct.
    """


    def __init__(self, detector: Detector, colors: ColorClassifier) -> None:
        super().__init__()
        self.detector, self.colors = detector, colors
        self.add_state("rows", [])
        self.add_state("prompt_rows", [])

    def update(self, images: Sequence[Sequence[Union[str, Image.Image]]], metadata: Sequence[dict]) -> None:
        check_same_length(images=images, metadata=metadata)
        for prompt_images, meta in zip(images, metadata):
            if not prompt_images:
                raise ValueError(f"no image for prompt {meta.get('prompt')!r}")
            rows = [evaluate_image(img, meta, self.detector, self.colors) for img in prompt_images]
            self.rows.extend(rows)
            self.prompt_rows.append(rows)

    def compute(self) -> dict[str, float]:
        if not self.rows:
            raise ValueError("GenEvalScore.compute() called before any update()")
        return summarize(self.rows)

    def per_sample(self) -> list[dict[str, float]]:
        return [{"correct_images": float(np.mean([r["correct"] for r in rows]))} for rows in self.prompt_rows]

    def config(self) -> dict:
        return {"metric": "geneval", "detector": type(self.detector).__name__, "colors": type(self.colors).__name__,
                "threshold": THRESHOLD, "counting_threshold": COUNTING_THRESHOLD, "max_objects": MAX_OBJECTS,
                "position_threshold": POSITION_THRESHOLD}


def summary_from_prompt_scores(records: Sequence[dict]) -> Optional[dict[str, float]]:
    """GenEval's summary from scored records (per-prompt `correct_images`, `tag`, image paths), no detector run.

    A tag's accuracy is over images, so each prompt weighs by its number of images.  `compare`
    bootstraps the headline with this.
    """
    by_tag: dict[str, list[float]] = {}  # tag -> [correct images, images]
    for r in records:
        counts = by_tag.setdefault(r["tag"], [0.0, 0.0])
        counts[0] += r["scores"]["correct_images"] * len(r["prediction"])
        counts[1] += len(r["prediction"])
    if not by_tag:
        return None
    out = {tag: c / n for tag, (c, n) in sorted(by_tag.items(), key=lambda kv: _tag_order(kv[0]))}
    out["overall"] = sum(out.values()) / len(out)
    out["correct_images"] = sum(c for c, _ in by_tag.values()) / sum(n for _, n in by_tag.values())
    out["correct_prompts"] = sum(r["scores"]["correct_images"] > 0 for r in records) / len(records)
    return out
