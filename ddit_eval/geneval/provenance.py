"""What a GenEval score depends on beyond its settings: file checksums, scorer device, library versions.

Protocol facts (checkpoint sha256, converter version, metadata sha256) go into the task's
config; the scorer's environment (device, dtype, versions) goes into a note with the score,
since a resumed run or a gate may legitimately score on another machine.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterable, Optional, Union

import torch

from ..provenance import file_sha256


def detector_facts(weights: Optional[str]) -> dict:
    """Which detector weights score: file name and sha256 of an mmdet checkpoint, or a transformers folder."""
    if not weights:
        return {"detector_checkpoint": None, "detector_checkpoint_sha256": None}
    path = Path(weights)
    if path.is_dir():
        return {"detector_checkpoint": f"{path.name} (transformers folder, not the official checkpoint file)",
                "detector_checkpoint_sha256": None}
    return {"detector_checkpoint": path.name, "detector_checkpoint_sha256": file_sha256(path) if path.is_file() else None}


def library_versions() -> dict[str, Optional[str]]:
    import PIL
    import transformers

    try:
        import cv2

        opencv = cv2.__version__
    except ImportError:
        opencv = None
    return {"torch": torch.__version__, "transformers": transformers.__version__, "opencv": opencv, "PIL": PIL.__version__}


def device_name(device: Union[str, torch.device]) -> str:
    device = torch.device(device)
    return f"cuda ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else device.type


def image_sizes(paths: Iterable[str]) -> dict[str, int]:
    """"WxH" -> number of images, read from the files' headers (no decoding)."""
    from PIL import Image

    sizes: Counter = Counter()
    for path in paths:
        with Image.open(path) as image:
            sizes[f"{image.size[0]}x{image.size[1]}"] += 1
    return dict(sorted(sizes.items()))


def scorer_note(device: Union[str, torch.device], dtype: str, sizes: dict[str, int]) -> str:
    """One line for the score's notes: the images scored and the environment that scored them."""
    images = ", ".join(f"{n} images at {size}" for size, n in sizes.items())
    versions = ", ".join(f"{name} {version}" for name, version in library_versions().items())
    return f"scored {images} on {device_name(device)} in {dtype} ({versions})"
