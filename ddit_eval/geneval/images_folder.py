"""Images any model made in GenEval's official folder layout, matched to the prompts they answer.

`score --task geneval --images-dir DIR` scores such a folder (D-DiT's, SD3's, ...) with this
project's scorer.  Each prompt folder's `metadata.jsonl` must be the task's metadata line of the
same index: images made from another prompt file would be scored against the wrong clauses.
Every image is checked readable here, before the detector loads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Union

from PIL import Image

from ..errors import UsageError
from .metadata import official_layout_prompts

METADATA_HINT = "score with the metadata the images were made from (--set geneval.metadata=PATH)"


@dataclass(frozen=True)
class ImagesFolder:
    """The prompts of a scanned folder: (prompt index, absolute image paths), by index, and its facts."""

    root: str
    prompts: list[tuple[int, list[str]]]

    def facts(self) -> dict:
        """Provenance of the scored images, for results.json."""
        counts = sorted({len(paths) for _, paths in self.prompts})
        return {"source": "images folder", "images_dir": self.root, "prompts": len(self.prompts),
                "images": sum(len(paths) for _, paths in self.prompts),
                "images_per_prompt": counts[0] if len(counts) == 1 else counts,
                "seeding": "not known (images made elsewhere)"}


def _difference(found: dict, expected: dict) -> str:
    """How a folder's metadata line differs from the task's: its prompt, else the fields that differ."""
    if found.get("prompt") != expected.get("prompt"):
        return f"prompt {found.get('prompt')!r}, expected {expected.get('prompt')!r}"
    keys = sorted(k for k in set(found) | set(expected) if found.get(k) != expected.get(k))
    return f"prompt {found['prompt']!r} has other {', '.join(keys)}"


def _check_readable(path: str) -> None:
    try:
        with Image.open(path) as image:
            image.verify()  # reads the file: a truncated PNG fails here, not after the detector loaded
    except (OSError, SyntaxError, ValueError) as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UsageError(f"{path} is not a readable image ({why})") from None


def scan_images_folder(images_dir: Union[str, os.PathLike], metadata: Sequence[dict]) -> ImagesFolder:
    """The folder's prompts checked against `metadata` (the task's lines, by index); one-line UsageErrors."""
    root = Path(images_dir)
    prompts = []
    for folder in official_layout_prompts(root):
        if folder.index >= len(metadata):
            raise UsageError(f"{folder.folder} is prompt {folder.index}, but the GenEval metadata has "
                             f"{len(metadata)} prompts; {METADATA_HINT}")
        if folder.metadata != metadata[folder.index]:
            raise UsageError(f"{folder.folder / 'metadata.jsonl'} does not match prompt {folder.index} of the GenEval "
                             f"metadata ({_difference(folder.metadata, metadata[folder.index])}); {METADATA_HINT}")
        paths = [str(Path(p).resolve()) for p in folder.images]
        for path in paths:
            _check_readable(path)
        prompts.append((folder.index, paths))
    return ImagesFolder(str(root.resolve()), prompts)
