"""coco-fid: MS-COCO FID-30K for text-to-image, with IS, KID and CLIPScore.

`num_samples` COCO 2014 val images are drawn with a seeded RNG, one of each image's
captions likewise; the model draws one image per caption.  FID / KID / IS come from
torch-fidelity (ddit_eval.image_metrics) with both sets resized to `eval_size`;
the reference set is the drawn images (`reference_images=selected`) or every val2014
image of the captions file (`all`).  Reads local files only:
`--set coco-fid.captions_file=.../captions_val2014.json` (or Karpathy's dataset_coco.json)
`--set coco-fid.images_dir=...` (the folder holding val2014/, or val2014/ itself).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Iterator, Optional, Sequence

from ddit_eval.api import GENERATE_IMAGES, Evaluation, ImageRequest, Sample, Task
from ddit_eval.data import read_json
from ddit_eval.errors import UsageError
from ddit_eval.image_metrics import CLIP_SCORE_DEFINITION, RESIZE_MODES, FidelityConfig
from ddit_eval.provenance import file_sha256
from ddit_eval.registry import register_task
from ddit_eval.settings import existing_path, setting

from ._generation_common import ImageGenerationSettings

CLIP_WEIGHTS = "openai/clip-vit-large-patch14"
SELECTION = ("random.Random(selection_seed).sample over val2014 images sorted by COCO id, then one caption per "
             "image by randrange over its captions (file order; official file: sorted by annotation id)")


@dataclass(frozen=True)
class CocoFidSettings(ImageGenerationSettings):
    captions_file: Optional[str] = setting(None, "captions_val2014.json or Karpathy's dataset_coco.json (required)",
                                           check=existing_path("captions_val2014.json or dataset_coco.json"))
    images_dir: Optional[str] = setting(None, "the local COCO images folder, holding val2014/ (required)",
                                        check=existing_path("COCO images folder"))
    num_samples: int = setting(30000, "caption / image pairs drawn (FID-30K: 30000)", minimum=2)
    selection_seed: int = setting(0, "seed of the drawing of images and captions", minimum=0)
    reference_images: str = setting("selected", "FID's reference set: the drawn images, or all val2014 images",
                                    choices=("selected", "all"))
    eval_size: int = setting(256, "both image sets are resized to this size before Inception", minimum=16)
    resize_mode: str = setting("bicubic", "the PIL filter of that resize", choices=RESIZE_MODES)
    feature_extractor_weights: Optional[str] = setting(None, "Inception state dict (none: torch-fidelity's own)",
                                                       check=existing_path("Inception state dict (.pth)"))
    clip_score: bool = setting(True, "also compute CLIPScore")
    clip_weights: str = setting(CLIP_WEIGHTS, "CLIP ViT-L/14 weights of CLIPScore (hub id or folder)")


class Val2014Captions:
    """COCO 2014 val images and their captions, from the official captions_val2014.json or Karpathy's dataset_coco.json."""

    def __init__(self, captions_file: str, images_dir: str) -> None:
        data = read_json(captions_file, "COCO captions file")
        try:
            names, captions, layout = self._parse(data)
        except (KeyError, TypeError):
            raise UsageError(f"{captions_file!r} is neither COCO's captions_val2014.json "
                             "nor Karpathy's dataset_coco.json") from None
        self.images = sorted((i, names[i], captions[i]) for i in names if captions.get(i))
        if not self.images:
            raise UsageError(f"{captions_file!r} has no captioned val2014 image")
        root = Path(images_dir).expanduser()
        self.folder = root / "val2014" if (root / "val2014").is_dir() else root
        if not (self.folder / self.images[0][1]).is_file():
            raise UsageError(f"COCO image {self.images[0][1]!r} is not under {str(root)!r} (give the folder holding val2014/)")
        self.provenance = {"layout": f"{layout} + local images folder", "captions_file": str(Path(captions_file).resolve()),
                           "sha256": file_sha256(captions_file),
                           "images_dir": str(self.folder.resolve()), "images": len(self.images)}

    @staticmethod
    def _parse(data: dict):
        captions = defaultdict(list)
        if "annotations" in data:  # official: images[{id, file_name}], annotations[{id, image_id, caption}]
            for a in sorted(data["annotations"], key=lambda a: a["id"]):
                captions[a["image_id"]].append(a["caption"].strip())
            return {im["id"]: im["file_name"] for im in data["images"]}, captions, "COCO captions_val2014.json"
        entries = [e for e in data["images"] if e["filepath"] == "val2014"]  # Karpathy: every split of val2014
        captions.update({e["cocoid"]: [s["raw"].strip() for s in e["sentences"]] for e in entries})
        return {e["cocoid"]: e["filename"] for e in entries}, captions, "Karpathy dataset_coco.json (all val2014 entries)"

    def select(self, count: int, seed: int) -> list[dict]:
        if count > len(self.images):
            raise UsageError(f"coco-fid: num_samples={count} but the captions file has {len(self.images)} val2014 images")
        rng = random.Random(seed)
        return [{"cocoid": i, "prompt": caps[rng.randrange(len(caps))], "reference_image": name}
                for i, name, caps in rng.sample(self.images, count)]


@register_task
class CocoFid(Task):
    name = "coco-fid"
    description = "MS-COCO 2014 val text-to-image: FID-30K (torch-fidelity), IS, KID, CLIPScore (ViT-L/14)"
    data_source = "local COCO 2014 val: captions_val2014.json or dataset_coco.json (captions_file) + images_dir"
    primary_metric = "fid"
    request_kind = GENERATE_IMAGES
    dataset_id = "COCO 2014 val captions (local)"
    settings_type = CocoFidSettings

    @cached_property
    def captions(self) -> Val2014Captions:
        s = self.settings
        if not s.captions_file or not s.images_dir:
            raise UsageError("coco-fid reads local COCO 2014 val: --set coco-fid.captions_file=PATH/captions_val2014.json "
                             "(or dataset_coco.json) --set coco-fid.images_dir=PATH (the folder holding val2014/)")
        return Val2014Captions(s.captions_file, s.images_dir)

    @cached_property
    def selection(self) -> list[dict]:
        return self.captions.select(self.settings.num_samples, self.settings.selection_seed)

    @cached_property
    def fidelity(self) -> FidelityConfig:
        s = self.settings
        return FidelityConfig(eval_size=s.eval_size, resize_mode=s.resize_mode, weights=s.feature_extractor_weights)

    def samples(self) -> Iterator[Sample]:
        for pair in self.selection:
            yield Sample(id=str(pair["cocoid"]), doc=pair)

    def build_request(self, sample: Sample, seed: int) -> ImageRequest:
        s = self.settings
        return ImageRequest(id=sample.id, prompt=sample.doc["prompt"], seed=seed, steps=s.steps, guidance=s.guidance,
                            resolution=s.resolution)

    def preflight(self) -> None:
        """Data, Inception and CLIP weights are checked before hours of generation, not after."""
        from ddit_eval.image_metrics import check_clip_available, check_inception_weights, ensure_default_inception

        self.selection
        if self.settings.feature_extractor_weights:
            check_inception_weights(self.settings.feature_extractor_weights, self.name)
        else:
            ensure_default_inception(self.name)
        if self.settings.clip_score:
            check_clip_available(self.settings.clip_weights, self.name)

    def reference_paths(self, records: Sequence[dict]) -> list[str]:
        names = [r["reference_image"] for r in records] if self.settings.reference_images == "selected" \
            else [name for _, name, _ in self.captions.images]
        return [str(self.captions.folder / name) for name in names]

    def evaluate(self, records: Sequence[dict]) -> Evaluation:
        from ddit_eval.environment import resolve_device
        from ddit_eval.image_metrics import ClipScore, FidelityScores

        device = resolve_device(self.device)  # Inception and CLIP go where the run said (--device)
        generated, reference = [r["prediction"][0] for r in records], self.reference_paths(records)
        fidelity = FidelityScores(self.fidelity, device)
        fidelity.update(generated, reference)
        notes = [f"FID/KID/IS: {len(generated)} generated vs {len(reference)} reference images "
                 f"({self.settings.reference_images}), {self.fidelity.fitted(len(generated), len(reference)).describe(device)}"]
        if len(generated) != 30000:
            notes.append(f"FID on {len(generated)} samples: FID is biased by sample count, not comparable with FID-30K")
        evaluation = Evaluation.of(fidelity, notes=notes)  # Inception runs and is let go before CLIP loads
        if not self.settings.clip_score:
            return evaluation
        from ddit_eval.geneval.colors import load_clip

        clip = ClipScore(*load_clip(self.settings.clip_weights), device=device)
        clip.update(generated, [r["prompt"] for r in records])
        return evaluation.plus(clip)

    def config(self) -> dict:
        s = self.settings
        digest = hashlib.sha256(json.dumps([[p["cocoid"], p["prompt"]] for p in self.selection]).encode()).hexdigest()
        reference = len(self.selection) if s.reference_images == "selected" else len(self.captions.images)
        return {**super().config(), "dataset": self.captions.provenance, "fidelity": self.fidelity.provenance(),
                "selection": {"method": SELECTION, "seed": s.selection_seed, "pairs": len(self.selection),
                              "sha256": digest, "digest_of": "json [[cocoid, caption], ...] in sample order"},
                "reference": {"set": f"COCO 2014 val, {s.reference_images}", "size": reference,
                              "size_note": "as drawn; --limit or failed samples shrink a 'selected' set (see notes)"},
                "clip_score": {"definition": CLIP_SCORE_DEFINITION, "weights": s.clip_weights,
                               "activation": "quick_gelu"} if s.clip_score else None}
