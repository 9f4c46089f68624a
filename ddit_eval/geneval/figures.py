"""GenEval's report pictures: per tag, a few prompts' images, each captioned PASS or FAIL with its reason.

Drawn from the per-image rows the scorer produced (the official `results.jsonl` fields filename,
tag, prompt, correct, reason, metadata), so the detector never runs again.  The reasons are the
official evaluator's strings; `readable_reason` words them for a caption and names the position
target, which the official string calls "target".  matplotlib's object API (`Figure`, rendered by
Agg when saved) keeps pyplot's global state and backend choice out of the process.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Sequence

import numpy as np

from ..metrics.geneval import TAGS

PROMPTS_PER_TAG = 4
MAX_IMAGES = 4
THUMBNAIL = 256  # pixels; a 1024 px image is not needed to see a mistake
PASS_COLOUR, FAIL_COLOUR = "#1a7f37", "#cf222e"

_COUNT = re.compile(r"expected (?P<cls>.+)>=(?P<n>\d+), found (?P<found>\d+)")
_COLOUR = re.compile(r"expected (?P<color>\S+) (?P<cls>.+)>=(?P<n>\d+), found \d+ \S+; and (?P<seen>.*)")
_POSITION = re.compile(r"expected (?P<cls>.+) (?P<rel>left of|right of|above|below) target, found (?P<found>.*) target")
_NO_TARGET = re.compile(r"no target for (?P<cls>.+) to be (?P<rel>left of|right of|above|below)")
_EXCLUDE = re.compile(r"expected (?P<cls>.+)<(?P<n>\d+), found (?P<found>\d+)")


def _target(metadata: dict, cls: str, relation: str) -> str:
    """The class an include clause of `cls` must stand `relation` to (the official reason says "target")."""
    include = metadata.get("include", [])
    for clause in include:
        position = clause.get("position")
        if clause.get("class") == cls and position and position[0] == relation and position[1] < len(include):
            return include[position[1]]["class"]
    return "target"


def _readable_line(line: str, metadata: dict) -> str:
    if m := _COUNT.fullmatch(line):
        return f"expected {m['n']} {m['cls']}, found {m['found']}"
    if m := _COLOUR.fullmatch(line):
        return f"wrong colour: expected {m['n']} {m['color']} {m['cls']}, saw {m['seen'] or 'no colour'}"
    if m := _POSITION.fullmatch(line):
        actual = m["found"].strip()
        target = _target(metadata, m["cls"], m["rel"])
        return f"position: {m['cls']} not {m['rel']} {target} ({f'{actual} it' if actual else 'too close to tell'})"
    if m := _NO_TARGET.fullmatch(line):
        return f"position: no {_target(metadata, m['cls'], m['rel'])} for {m['cls']} to be {m['rel']}"
    if m := _EXCLUDE.fullmatch(line):
        return f"expected fewer than {m['n']} {m['cls']}, found {m['found']}"
    return line


def readable_reason(row: dict) -> str:
    """The official reason of one results.jsonl row, one line per failed clause, worded for a caption."""
    metadata = row["metadata"] if isinstance(row["metadata"], dict) else json.loads(row["metadata"])
    return "\n".join(_readable_line(line, metadata) for line in str(row.get("reason") or "").splitlines() if line)


def caption(row: dict) -> tuple[str, str]:
    """(text, colour) under one image: PASS, or FAIL and why."""
    if row["correct"]:
        return "PASS", PASS_COLOUR
    reason = "\n".join(textwrap.fill(line, 34) for line in readable_reason(row).splitlines())
    return f"FAIL\n{reason}" if reason else "FAIL", FAIL_COLOUR


def prompts_by_tag(rows: Sequence[dict]) -> dict[str, list[list[dict]]]:
    """Tag -> its prompts in order, each the list of its image rows (GenEval's tag order)."""
    prompts: dict[str, list[dict]] = {}
    for row in rows:
        prompts.setdefault(row["metadata"] if isinstance(row["metadata"], str) else json.dumps(row["metadata"]),
                           []).append(row)
    out: dict[str, list[list[dict]]] = {}
    for images in prompts.values():
        out.setdefault(images[0]["tag"], []).append(images)
    return dict(sorted(out.items(), key=lambda kv: (TAGS.index(kv[0]) if kv[0] in TAGS else len(TAGS), kv[0])))


def _thumbnail(path: str) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
    except OSError:
        return np.full((THUMBNAIL, THUMBNAIL, 3), 153, np.uint8)  # a missing image shows as grey, the caption still tells
    image.thumbnail((THUMBNAIL, THUMBNAIL))
    return np.asarray(image)


def tag_grid(tag: str, prompts: Sequence[Sequence[dict]], path: Path, correct: tuple[int, int]) -> str:
    """One PNG: a row per prompt (its text on the left), a column per image, captions under the images."""
    from matplotlib.figure import Figure

    cols = max(min(len(images), MAX_IMAGES) for images in prompts)
    fig = Figure(figsize=(2.6 * cols, 3.4 * len(prompts) + 0.6), layout="constrained")
    shown = f"first {len(prompts)} prompts shown" if len(prompts) > 1 else "first prompt shown"
    fig.suptitle(f"GenEval {tag}: {correct[0]} of {correct[1]} images correct; {shown}", fontsize=10)
    axes = fig.subplots(len(prompts), cols, squeeze=False)
    for axrow, images in zip(axes, prompts):
        # the prompt above its row, wrapped to the row's width: a label at the side was cut off by the figure edge
        axrow[0].set_title(textwrap.fill(f"\u201c{images[0]['prompt']}\u201d", 30 * cols), loc="left", fontsize=9)
        for ax, row in zip(axrow, list(images) + [None] * cols):
            ax.set_xticks([])
            ax.set_yticks([])
            if row is None:
                ax.set_frame_on(False)
                continue
            text, colour = caption(row)
            ax.imshow(_thumbnail(row["filename"]))
            ax.set_xlabel(text, fontsize=8, color=colour)
            for spine in ax.spines.values():
                spine.set_edgecolor(colour)
                spine.set_linewidth(3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return str(path)


def tag_grids(rows: Sequence[dict], out_dir: str | Path, stem: str = "geneval",
              prompts_per_tag: int = PROMPTS_PER_TAG) -> list[str]:
    """`<stem>-grid-<tag>.png` per tag in `rows`: its first prompts' images with PASS/FAIL captions."""
    paths = []
    for tag, prompts in prompts_by_tag(rows).items():
        correct = (sum(r["correct"] for images in prompts for r in images), sum(len(images) for images in prompts))
        paths.append(tag_grid(tag, prompts[:prompts_per_tag], Path(out_dir) / f"{stem}-grid-{tag}.png", correct))
    return paths
