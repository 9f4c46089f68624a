"""GenEval-format prompt metadata over shape classes, and scenes that satisfy it.

Lines follow the official `evaluation_metadata.jsonl` schema and wording
("a photo of a red circle", "a photo of three crosses", "a photo of a square
right of a triangle", ...), ordered by tag like the official file; counting
prompts (2-4 objects) carry the exclude clause count N+1.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np

from ..metrics.geneval import TAGS
from .language import NUMBER_WORDS, article
from .scenes import COLORS, KINDS, PLURALS, Scene, Shape

RELATIONS = {"left of": (0, -1), "right of": (0, 1), "above": (-1, 0), "below": (1, 0)}  # (d_row, d_col) sign


def _candidates(tag: str) -> list[dict]:
    """Every distinct metadata line of a tag, in a fixed order."""
    if tag == "single_object":
        return [{"tag": tag, "include": [{"class": k, "count": 1}], "prompt": f"a photo of {article(k)} {k}"} for k in KINDS]
    if tag == "two_object":
        return [{"tag": tag, "include": [{"class": a, "count": 1}, {"class": b, "count": 1}],
                 "prompt": f"a photo of {article(a)} {a} and {article(b)} {b}"}
                for i, a in enumerate(KINDS) for b in KINDS[i + 1:]]
    if tag == "counting":
        return [{"tag": tag, "include": [{"class": k, "count": n}], "exclude": [{"class": k, "count": n + 1}],
                 "prompt": f"a photo of {NUMBER_WORDS[n]} {PLURALS[k]}"} for n in (2, 3, 4) for k in KINDS]
    if tag == "colors":
        return [{"tag": tag, "include": [{"class": k, "count": 1, "color": c}], "prompt": f"a photo of {article(c)} {c} {k}"}
                for c in COLORS for k in KINDS]
    if tag == "position":
        return [{"tag": tag, "include": [{"class": b, "count": 1}, {"class": a, "count": 1, "position": [rel, 0]}],
                 "prompt": f"a photo of {article(a)} {a} {rel} {article(b)} {b}"}
                for a, b in permutations(KINDS, 2) for rel in RELATIONS]
    if tag == "color_attr":
        return [{"tag": tag, "include": [{"class": a, "count": 1, "color": ca}, {"class": b, "count": 1, "color": cb}],
                 "prompt": f"a photo of {article(ca)} {ca} {a} and {article(cb)} {cb} {b}"}
                for a, b in permutations(KINDS, 2) for ca, cb in permutations(COLORS, 2)]
    raise ValueError(f"unknown GenEval tag {tag!r}; known: {', '.join(TAGS)}")


def geneval_metadata(seed: int = 0, per_tag: int = 10) -> list[dict]:
    """Up to `per_tag` distinct prompts per tag (fewer where the tag has fewer), ordered by tag."""
    rng = np.random.default_rng(seed)
    lines = []
    for tag in TAGS:
        pool = _candidates(tag)
        picked = sorted(rng.choice(len(pool), size=min(per_tag, len(pool)), replace=False))
        lines.extend(pool[int(i)] for i in picked)
    return lines


def scene_for_metadata(metadata: dict, rng: np.random.Generator) -> Scene:
    """A random scene satisfying the metadata (exact counts, requested colors, positions in one row/column)."""
    objects, cells = [], []
    free = list(range(9))
    for clause in metadata["include"]:
        for _ in range(clause["count"]):
            if "position" in clause:
                options = _in_relation(free, cells[0], clause["position"][0])
            else:
                options = _position_friendly(free, metadata) if not cells else free
            cell = int(rng.choice(options))
            free.remove(cell)
            cells.append(cell)
            objects.append((clause["class"], clause.get("color")))
    wanted = {color for _, color in objects if color}
    spare = [c for c in COLORS if c not in wanted]
    colors = [color or spare.pop(int(rng.integers(len(spare)))) for _, color in objects]
    return Scene(tuple(Shape(kind, color, cell) for (kind, _), color, cell in zip(objects, colors, cells)))


def _in_relation(free: list[int], target: int, relation: str) -> list[int]:
    """Free cells in the same row (left/right) or column (above/below) on the relation's side of target."""
    d_row, d_col = RELATIONS[relation]
    row, col = divmod(target, 3)
    if d_col:
        return [c for c in free if c // 3 == row and (c % 3 - col) * d_col > 0]
    return [c for c in free if c % 3 == col and (c // 3 - row) * d_row > 0]


def _position_friendly(free: list[int], metadata: dict) -> list[int]:
    """The target of a position prompt must leave room for its partner in the relation's direction."""
    clause = next((c for c in metadata["include"] if "position" in c), None)
    if clause is None:
        return free
    d_row, d_col = RELATIONS[clause["position"][0]]
    return [c for c in free if 0 <= c // 3 + d_row <= 2 and 0 <= c % 3 + d_col <= 2]
