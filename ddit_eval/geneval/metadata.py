"""Where GenEval's prompt metadata comes from (pinned, checked, cached), and the official image-folder layout.

The official prompts (`prompts/evaluation_metadata.jsonl` of djghosh13/geneval, 553
lines) belong to that project and are not shipped here: `load_metadata()` fetches
them from the repository at a pinned commit into a local cache, refusing bytes whose
sha256 is not the pinned one, or reads a file the user passes (`--set
geneval.metadata=PATH`) for offline machines or a custom prompt set; results record
that file's sha256 and call it the official set only when it is the pinned one.  The format
of each line is checked by `metadata_format`.

The folder layout is the one the official `evaluate_images.py` reads:
`OUT/<5-digit prompt index>/metadata.jsonl` (that prompt's line, one JSON object),
`OUT/<index>/samples/<4-digit image index>.png`, and an optional `grid.png`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import NamedTuple, Optional, Sequence, Union

from PIL import Image

from ..environment import offline
from ..errors import UsageError
from .metadata_format import check_line, parse_metadata, validate_metadata

PINNED_COMMIT = "af4902f24d3ca90ebbb446dd9891a59e0f82725f"
METADATA_URL = ("https://raw.githubusercontent.com/djghosh13/geneval/"
                f"{PINNED_COMMIT}/prompts/evaluation_metadata.jsonl")
# The file at PINNED_COMMIT (last changed in d927da8, 2023-08-22), read from the official repository's history.
# A download or cached copy with other bytes is refused, whatever its structure.
METADATA_SHA256 = "5c48e0813e812e3c373fa5c8ed07a8f0a483be30272b4427b0559c8048e67c13"
EXPECTED_TAG_COUNTS = {"single_object": 80, "two_object": 99, "counting": 80, "colors": 94,
                       "position": 100, "color_attr": 100}
OFFLINE_HINT = "pass --set geneval.metadata=PATH (a local copy of evaluation_metadata.jsonl)"
SAMPLE_NAME = re.compile(r"\d+\.png")


# --------------------------------------------------------------------------- download and cache


def default_cache_dir() -> Path:
    from ..cache_folder import cache_root

    return cache_root() / "geneval"


def _download(url: str, timeout: float = 60.0) -> bytes:
    """The bytes at `url` (the only network access of this module; tests replace it)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _verify(data: bytes, origin: str, expected: str) -> list[dict]:
    """The official file's lines, if its bytes have the `expected` sha256; else a one-line refusal.

    There is no unpinned mode: a file with the official structure but other bytes is another prompt set.
    """
    if not isinstance(expected, str) or not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise UsageError(f"no pinned sha256 to check {origin} against (got {expected!r}); {OFFLINE_HINT}")
    digest = sha256_hex(data)
    if digest != expected:
        raise UsageError(f"{origin} has sha256 {digest}, expected {expected} (GenEval metadata at "
                         f"{PINNED_COMMIT[:7]}); refusing it; {OFFLINE_HINT}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{origin} is not UTF-8 text; {OFFLINE_HINT}") from None
    return parse_metadata(text, origin)


def cached_metadata_path(cache_dir: Union[str, os.PathLike, None] = None) -> Path:
    """Where the official file at PINNED_COMMIT is cached."""
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return cache / f"evaluation_metadata-{PINNED_COMMIT[:12]}.jsonl"


def metadata_sha256(path: Union[str, os.PathLike, None] = None,
                    cache_dir: Union[str, os.PathLike, None] = None) -> Optional[str]:
    """sha256 of the metadata file `load_metadata(path, cache_dir)` reads (None if it is not there yet),
    so results say which prompt file scored them (a user's file may be a custom prompt set)."""
    file = Path(path) if path is not None else cached_metadata_path(cache_dir)
    return sha256_hex(file.read_bytes()) if file.is_file() else None


def load_metadata(path: Union[str, os.PathLike, None] = None,
                  cache_dir: Union[str, os.PathLike, None] = None, expected_sha256: Optional[str] = None) -> list[dict]:
    """GenEval's prompt metadata lines.

    With `path`: that file (any number of lines in the official format), the user's explicit choice;
    results record its sha256 and call it official only when it is the pinned one (a file with the
    official structure but other bytes gets a warning saying so).  Without: the official file at
    PINNED_COMMIT from the cache (`cache_dir`, default $DDIT_EVAL_CACHE/geneval, ~/.cache/ddit-eval/geneval), downloading it
    once; its sha256 must equal `expected_sha256` (default METADATA_SHA256), else a one-line
    UsageError, and nothing is cached.  Offline (HF_HUB_OFFLINE=1 or no network) without a cached
    copy: a one-line UsageError saying to pass the file.
    """
    expected = METADATA_SHA256 if expected_sha256 is None else expected_sha256
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise UsageError(f"GenEval metadata file not found: {p}")
        try:
            data = p.read_bytes()
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(f"cannot read GenEval metadata {p}: {e}") from None
        rows = parse_metadata(text, str(p))
        _warn_if_lookalike(rows, sha256_hex(data), expected, p)
        return rows

    cached = cached_metadata_path(cache_dir)
    if cached.is_file():
        return _verify(cached.read_bytes(), f"cached GenEval metadata {cached} (delete it to download again)", expected)
    if offline():
        raise UsageError(f"GenEval metadata is not cached at {cached} and downloads are off (HF_HUB_OFFLINE=1); "
                         f"{OFFLINE_HINT}")
    try:
        data = _download(METADATA_URL)
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        raise UsageError(f"cannot download GenEval metadata from {METADATA_URL} ({reason}); {OFFLINE_HINT}") from None
    rows = _verify(data, f"downloaded GenEval metadata ({METADATA_URL})", expected)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(cached.name + f".tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, cached)
    return rows


def _warn_if_lookalike(rows: list[dict], digest: str, expected: str, path: Path) -> None:
    """A user's file shaped like the official one but with other bytes is scored as a custom set: say so."""
    if digest != expected and validate_metadata(rows, str(path)) == EXPECTED_TAG_COUNTS:
        warnings.warn(f"{path} has the official GenEval prompt counts but sha256 {digest}, not the pinned "
                      f"{expected}: it is scored as a custom prompt set (prompt_set 'custom' in results)", stacklevel=3)


# --------------------------------------------------------------------------- official folder layout


def _save_png(image: Image.Image, path: Path) -> None:
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.png")
    image.save(tmp, format="PNG")
    os.replace(tmp, path)


def make_grid(images: Sequence[Image.Image]) -> Image.Image:
    """Images side by side in a near-square grid (2x2 for 4), each cell the first image's size."""
    if not images:
        raise ValueError("make_grid needs at least one image")
    cols = math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / cols)
    w, h = images[0].size
    grid = Image.new("RGB", (cols * w, rows * h))
    for k, image in enumerate(images):
        cell = image.convert("RGB")
        if cell.size != (w, h):
            cell = cell.resize((w, h), Image.BICUBIC)
        grid.paste(cell, ((k % cols) * w, (k // cols) * h))
    return grid


def write_official_layout(out_dir: Union[str, os.PathLike], index: int, metadata_line: dict,
                          images: Sequence[Union[Image.Image, str, os.PathLike]], grid: bool = True) -> Path:
    """Write one prompt's folder `<out_dir>/<index:05d>/` as the official evaluator reads it; returns the folder."""
    check_line(metadata_line, f"prompt {index}")
    if not images:
        raise ValueError(f"no image for prompt {index}")
    folder = Path(out_dir) / f"{index:05d}"
    samples = folder / "samples"
    samples.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".metadata.tmp{os.getpid()}"
    tmp.write_text(json.dumps(metadata_line) + "\n", encoding="utf-8")
    os.replace(tmp, folder / "metadata.jsonl")
    opened = []
    for k, image in enumerate(images):
        if not isinstance(image, Image.Image):
            with Image.open(image) as f:
                image = f.convert("RGB")
        opened.append(image)
        _save_png(image, samples / f"{k:04d}.png")
    if grid:
        _save_png(make_grid(opened), folder / "grid.png")
    return folder


class PromptFolder(NamedTuple):
    """One prompt folder of the official layout: its index, path, metadata line and image paths (by number)."""

    index: int
    folder: Path
    metadata: dict
    images: list[str]


def official_layout_prompts(images_dir: Union[str, os.PathLike]) -> list[PromptFolder]:
    """The prompt folders of an official GenEval images folder, by index.

    As `evaluate_images.py`: numeric subfolders, each with `metadata.jsonl` (one JSON object) and
    `samples/<digits>.png`; other entries are ignored.  A malformed folder is a one-line UsageError.
    """
    root = Path(images_dir)
    if not root.is_dir():
        raise UsageError(f"GenEval images folder not found: {root}")
    folders = sorted((p for p in root.iterdir() if p.is_dir() and p.name.isdigit()),
                     key=lambda p: (int(p.name), p.name))
    if not folders:
        raise UsageError(f"{root} has no prompt folders (expected <5-digit index>/metadata.jsonl and samples/NNNN.png)")
    out: list[PromptFolder] = []
    for folder in folders:
        meta_path = folder / "metadata.jsonl"
        if not meta_path.is_file():
            raise UsageError(f"{folder} has no metadata.jsonl")
        try:
            metadata = json.loads(meta_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise UsageError(f"{meta_path} is not one JSON object ({e})".replace("\n", " ")) from None
        check_line(metadata, str(meta_path))
        samples = folder / "samples"
        images = sorted((p for p in samples.iterdir() if p.is_file() and SAMPLE_NAME.fullmatch(p.name)),
                        key=lambda p: (int(p.stem), p.name)) if samples.is_dir() else []
        if not images:
            raise UsageError(f"{folder} has no samples/<digits>.png images")
        if out and out[-1].index == int(folder.name):
            raise UsageError(f"{root} has two folders for prompt {int(folder.name)}: "
                             f"{out[-1].folder.name} and {folder.name}")
        out.append(PromptFolder(int(folder.name), folder, metadata, [str(p) for p in images]))
    return out


def read_official_layout(images_dir: Union[str, os.PathLike]) -> list[tuple[dict, list[str]]]:
    """The (metadata, image paths) of each prompt folder of an official GenEval images folder, by index."""
    return [(p.metadata, p.images) for p in official_layout_prompts(images_dir)]
