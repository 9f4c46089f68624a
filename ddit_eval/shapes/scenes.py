"""Scenes of one to three flat shapes on a 3x3 grid, their split and their rendering.

A scene is pure data (kind, color, grid cell per shape); rendering is a
deterministic function of (scene, size).  Which split a scene belongs to is a
function of the scene itself (a hash of its signature), so train and test
scenes are disjoint by construction, whatever seeds generate them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterator

import numpy as np
from PIL import Image, ImageDraw

KINDS = ("circle", "square", "triangle", "cross")
PLURALS = {"circle": "circles", "square": "squares", "triangle": "triangles", "cross": "crosses"}
COLORS = ("red", "orange", "yellow", "green", "blue", "purple")
# Prototypes for all 10 GenEval color names; scenes use COLORS, the color classifier knows all ten.
COLOR_RGB = {
    "red": (220, 40, 40), "orange": (245, 140, 30), "yellow": (235, 220, 40), "green": (40, 180, 60),
    "blue": (40, 70, 220), "purple": (140, 50, 180), "pink": (245, 150, 200), "brown": (120, 70, 30),
    "black": (15, 15, 15), "white": (245, 245, 245),
}
BACKGROUND = (128, 128, 128)
POSITIONS = ("top left", "top", "top right", "left", "center", "right", "bottom left", "bottom", "bottom right")
SHAPE_FRACTION = 0.28  # side of a shape's box / image side (a grid cell is 1/3)
SPLITS = {"train": 0, "test": 1}
TEST_BUCKETS = 5  # one scene signature in five is a test scene


@dataclass(frozen=True)
class Shape:
    kind: str
    color: str
    cell: int  # 0..8, row-major on the 3x3 grid

    @property
    def position(self) -> str:
        return POSITIONS[self.cell]

    @property
    def row(self) -> int:
        return self.cell // 3

    @property
    def col(self) -> int:
        return self.cell % 3

    @property
    def name(self) -> str:
        """'red circle': unique within a scene because colors are."""
        return f"{self.color} {self.kind}"


@dataclass(frozen=True)
class Scene:
    """Shapes in reading order (by cell); colors and cells are distinct, kinds may repeat."""

    shapes: tuple[Shape, ...]

    def __post_init__(self) -> None:
        cells = [s.cell for s in self.shapes]
        if len(set(cells)) != len(cells) or len({s.color for s in self.shapes}) != len(cells):
            raise ValueError(f"shapes of a scene need distinct cells and colors: {self.shapes}")
        object.__setattr__(self, "shapes", tuple(sorted(self.shapes, key=lambda s: s.cell)))

    def signature(self) -> str:
        return "|".join(f"{s.kind}:{s.color}:{s.cell}" for s in self.shapes)

    def to_dict(self) -> dict:
        return {"shapes": [{"kind": s.kind, "color": s.color, "cell": s.cell, "position": s.position}
                           for s in self.shapes]}

    @classmethod
    def from_dict(cls, data: dict) -> "Scene":
        return cls(tuple(Shape(d["kind"], d["color"], int(d["cell"])) for d in data["shapes"]))

    def count(self, kind: str | None = None) -> int:
        return sum(kind is None or s.kind == kind for s in self.shapes)


def split_of(scene: Scene) -> str:
    """'test' for one signature hash bucket in TEST_BUCKETS, else 'train' (stable across runs)."""
    digest = hashlib.sha1(scene.signature().encode()).digest()
    return "test" if int.from_bytes(digest[:4], "little") % TEST_BUCKETS == 0 else "train"


def random_scene(rng: np.random.Generator, max_shapes: int = 3, kinds=KINDS, colors=COLORS) -> Scene:
    n = int(rng.integers(1, max_shapes + 1))
    cells = rng.choice(9, size=n, replace=False)
    picked = rng.choice(len(colors), size=n, replace=False)
    return Scene(tuple(Shape(kinds[int(rng.integers(len(kinds)))], colors[int(c)], int(cell))
                       for c, cell in zip(picked, cells)))


def iter_scenes(seed: int, split: str = "test", max_shapes: int = 3) -> Iterator[Scene]:
    """Endless stream of distinct scenes of one split, deterministic in (seed, split)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    rng = np.random.default_rng([seed, SPLITS[split]])
    seen: set[str] = set()
    misses = 0
    while misses < 100_000:
        scene = random_scene(rng, max_shapes)
        if split_of(scene) != split or scene.signature() in seen:
            misses += 1
            continue
        misses = 0
        seen.add(scene.signature())
        yield scene


def generate_scenes(seed: int, n: int, split: str = "train", max_shapes: int = 3) -> list[Scene]:
    """`n` distinct scenes of `split`; train and test never share a scene."""
    stream = iter_scenes(seed, split, max_shapes)
    scenes = [scene for _, scene in zip(range(n), stream)]
    if len(scenes) < n:
        raise ValueError(f"only {len(scenes)} distinct {split} scenes with max_shapes={max_shapes}")
    return scenes


# --------------------------------------------------------------------------- rendering


def shape_box(cell: int, size: int) -> tuple[int, int, int, int]:
    """Inclusive pixel box (x0, y0, x1, y1) of the shape drawn in `cell`."""
    side = max(4, int(SHAPE_FRACTION * size))
    cx, cy = (cell % 3 + 0.5) * size / 3, (cell // 3 + 0.5) * size / 3
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    return x0, y0, x0 + side - 1, y0 + side - 1


def draw_shape(draw: ImageDraw.ImageDraw, kind: str, box: tuple[int, int, int, int], fill) -> None:
    """Draw one shape filling the inclusive box; also used by the detector's templates."""
    x0, y0, x1, y1 = box
    cx = (x0 + x1) / 2
    if kind == "square":
        draw.rectangle(box, fill=fill)
    elif kind == "circle":
        draw.ellipse(box, fill=fill)
    elif kind == "triangle":
        draw.polygon([(cx, y0), (x1, y1), (x0, y1)], fill=fill)
    elif kind == "cross":
        w, h = (x1 - x0 + 1) / 3, (y1 - y0 + 1) / 3
        ya, xa = round(y0 + h), round(x0 + w)
        draw.rectangle((x0, ya, x1, max(ya, round(y1 - h))), fill=fill)
        draw.rectangle((xa, y0, max(xa, round(x1 - w)), y1), fill=fill)
    else:
        raise ValueError(f"unknown shape kind {kind!r}; known: {', '.join(KINDS)}")


def render(scene: Scene, size: int = 64) -> Image.Image:
    """RGB image of the scene on the plain gray background."""
    image = Image.new("RGB", (size, size), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for shape in scene.shapes:
        draw_shape(draw, shape.kind, shape_box(shape.cell, size), COLOR_RGB[shape.color])
    return image
