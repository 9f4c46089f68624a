"""Image features on disk, computed once per (encoder identity, image).

`<root>/<key>/` holds `identity.json` (the encoder's identity; `key` is a hash of it) and
`part-NNNNN.safetensors` files, each written whole by one batch (temp file, then rename), so a
killed run loses at most the batch in flight.  Tensors are keyed by image key
(`"<source>/<image id>"`, e.g. `vqav2/262148`).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable, Sequence

import torch

from ddit_eval.prefetch import prefetched_batches
from ddit_eval.progress import Progress
from ddit_eval.results import write_json_atomic


def identity_key(identity: dict) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


class FeatureCache:
    """The features of one encoder identity: `load()` what is there, `fill()` what is missing."""

    def __init__(self, root: str | Path, identity: dict) -> None:
        self.identity = identity
        self.folder = Path(root) / identity_key(identity)
        self.computed = 0  # images encoded by this object (0 when everything came from disk)

    def load(self) -> dict[str, torch.Tensor]:
        from safetensors.torch import load_file

        features: dict[str, torch.Tensor] = {}
        for part in sorted(self.folder.glob("part-*.safetensors")):
            features.update(load_file(part))
        return features

    def fill(self, keys: Sequence[str], open_image: Callable[[str], object], encode: Callable, batch_size: int,
             workers: int, desc: str) -> dict[str, torch.Tensor]:
        """Every key's features: those on disk, and the others encoded now and saved batch by batch."""
        features = self.load()
        missing = [k for k in dict.fromkeys(keys) if k not in features]
        if missing:
            write_json_atomic(self.folder / "identity.json", self.identity)
            progress = Progress(len(missing), desc)
            batches = prefetched_batches(missing, lambda key: (key, open_image(key)), batch_size, workers)
            try:
                for batch in batches:
                    rows = encode([image for _, image in batch])
                    new = {key: row.contiguous() for (key, _), row in zip(batch, rows)}
                    self._save(new)
                    features.update(new)
                    self.computed += len(new)
                    progress.update(len(new))
            finally:
                batches.close()
                progress.close()
        return {k: features[k] for k in keys}

    def _save(self, features: dict[str, torch.Tensor]) -> None:
        from safetensors.torch import save_file

        self.folder.mkdir(parents=True, exist_ok=True)
        index = 1 + max((int(p.stem.split("-")[1]) for p in self.folder.glob("part-*.safetensors")), default=-1)
        path = self.folder / f"part-{index:05d}.safetensors"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        save_file(features, str(tmp))
        os.replace(tmp, path)
