"""The decoder's training captions: COCO images and captions of chosen Karpathy splits.

Read with `ddit_eval.data.KarpathySplit` (the `coco-caption` task's reader).  The default split
is `train` (COCO train2014): `restval`, `val` and `test` images are COCO val2014 images, which
VQAv2 validation asks about, so training on them would leak captions of the evaluated images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

from PIL import Image

from ddit_eval.data import KarpathySplit


@dataclass
class TrainingCaptions:
    """Image keys (`coco/<cocoid>`, one per image), and per caption its image key and text."""

    keys: list[str] = field(default_factory=list)
    caption_keys: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    provenance: dict = field(default_factory=dict)
    _where: dict = field(default_factory=dict, repr=False)  # key -> (split reader, entry index)

    def image(self, key: str) -> Image.Image:
        reader, index = self._where[key]
        return reader.image(index)


def coco_training_captions(split_file: str, images_dir: str, splits: Sequence[str],
                           max_images: Optional[int] = None) -> TrainingCaptions:
    out = TrainingCaptions()
    readers = [KarpathySplit(split_file, images_dir, split) for split in splits]
    for reader in readers:
        for index, row in enumerate(reader.rows()):
            if max_images is not None and len(out.keys) >= max_images:
                break
            key = f"coco/{row['cocoid']}"
            if key in out._where:
                continue
            out._where[key] = (reader, index)
            out.keys.append(key)
            out.caption_keys += [key] * len(row["answer"])
            out.captions += row["answer"]
    first = readers[0].provenance
    out.provenance = {"split_file": first["split_file"], "fingerprint": first["fingerprint"],
                      "images_dir": first["images_dir"], "splits": list(splits), "images": len(out.keys),
                      "captions": len(out.captions), "max_images": max_images}
    return out
