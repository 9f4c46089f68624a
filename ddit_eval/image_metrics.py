"""Image-quality metrics for text-to-image: FID, IS and KID through torch-fidelity, and CLIPScore.

Papers differ on the library, the resize before Inception, the reference set and the
Inception weights, and each moves FID by whole points; so every number here comes with
`FidelityConfig.provenance()`.  Both image sets go through the same resize (short side
to `eval_size` with a PIL filter, centre crop) in a torch-fidelity `ImagesPathDataset`,
so nothing is written to disk; torch-fidelity then resizes to 299 its own way.

CLIPScore follows Hessel et al. (2021) with weight 100: per sample
max(100 * cos(image, caption), 0), averaged.  torchmetrics clamps the mean instead;
the two agree whenever no cosine is negative, as with real CLIP models.
"""

from __future__ import annotations

import importlib.metadata
import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

from PIL import Image

if TYPE_CHECKING:  # torch loads when a metric runs, not when tasks are listed
    import torch

from .environment import is_local_path, offline, resolve_device
from .errors import UsageError
from .metrics.base import Metric, check_same_length

DEFAULT_INCEPTION = "torch-fidelity default inception-v3-compat"
RESIZE_MODES = ("bicubic", "bilinear", "lanczos")  # PIL filters (antialiased), applied before torch-fidelity
CLIP_SCORE_DEFINITION = ("mean over samples of max(100 * cosine(image, caption), 0); transformers CLIPModel, "
                         "CLIP image preprocessing of the generated image, captions cut at 77 tokens")
_WORKERS_FROM = 256  # images; below this torch-fidelity's 4 loader processes cost more than they save
_KEYS = {"frechet_inception_distance": "fid", "kernel_inception_distance_mean": "kid_mean",
         "kernel_inception_distance_std": "kid_std", "inception_score_mean": "is_mean", "inception_score_std": "is_std"}


@dataclass(frozen=True)
class FidelityConfig:
    """How FID / IS / KID are computed; `weights` is a local Inception state dict or None (torch-fidelity's download)."""

    eval_size: int = 256
    resize_mode: str = "bicubic"
    weights: Optional[str] = None
    kid_subset_size: int = 1000
    isc_splits: int = 10
    batch_size: int = 64
    seed: int = 2020  # torch-fidelity's KID subset draws

    def fitted(self, generated: int, reference: int) -> "FidelityConfig":
        """KID's subset size and IS's split count, shrunk to the set sizes when the sets are small."""
        return replace(self, kid_subset_size=min(self.kid_subset_size, generated, reference),
                       isc_splits=min(self.isc_splits, generated))

    def describe(self, device: str = "auto") -> str:
        """One line for the notes beside the numbers; `device`: where Inception ran (fidelity_scores's)."""
        weights = self.weights and f"{self.weights} (sha256 {inception_weights_record(self.weights)['sha256'][:16]}...)"
        return (f"torch-fidelity {importlib.metadata.version('torch-fidelity')}, {self.eval_size} px, PIL {self.resize_mode} "
                f"+ centre crop, Inception weights {weights or DEFAULT_INCEPTION}, KID subset size {self.kid_subset_size}, "
                f"IS splits {self.isc_splits}, {resolve_device(device)}")

    def provenance(self) -> dict:
        return {"library": "torch-fidelity", "library_version": importlib.metadata.version("torch-fidelity"),
                "feature_extractor": "inception-v3-compat", "feature_extractor_weights": inception_weights_record(self.weights),
                "eval_size": self.eval_size, "resize": f"PIL {self.resize_mode}, short side to {self.eval_size}, centre crop "
                "(both sets, torchvision Resize/CenterCrop in torch-fidelity's ImagesPathDataset, no files written); "
                "then torch-fidelity's own resize to 299", "kid_subset_size_max": self.kid_subset_size,
                "isc_splits_max": self.isc_splits, "rng_seed": self.seed}


def inception_weights_record(path: Optional[str]) -> Union[str, dict]:
    """What to record about the Inception weights: the default's name, or a local file's path and sha256."""
    if path is None:
        from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

        return f"{DEFAULT_INCEPTION} ({URL_INCEPTION_V3})"
    from .provenance import file_sha256

    return {"path": os.path.abspath(path), "sha256": file_sha256(path)}


def ensure_default_inception(task: str) -> None:
    """Fetch torch-fidelity's Inception weights into the torch hub cache now, not after hours of generation."""
    from torch.hub import get_dir, load_state_dict_from_url
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    if os.path.isfile(os.path.join(get_dir(), "checkpoints", os.path.basename(URL_INCEPTION_V3))):
        return
    hint = f"download it and pass --set {task}.feature_extractor_weights=PATH"
    if offline():
        raise UsageError(f"offline and torch-fidelity's Inception weights are not cached: {hint} ({URL_INCEPTION_V3})")
    try:
        load_state_dict_from_url(URL_INCEPTION_V3, progress=False)
    except Exception as exc:  # any network failure: one line, with the way out
        raise UsageError(f"cannot download torch-fidelity's Inception weights ({type(exc).__name__}): {hint} "
                         f"({URL_INCEPTION_V3})") from None


def check_inception_weights(path: str, task: str) -> None:
    """A local weights file must load into torch-fidelity's Inception (a wrong file would fail after generation)."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    try:
        FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=path)
    except Exception as exc:  # unpickling errors, missing or misshapen keys: all one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise UsageError(f"--set {task}.feature_extractor_weights={path}: not a torch-fidelity inception-v3-compat "
                         f"state dict ({first})") from None


def eval_dataset(paths: Sequence[str], size: int, resize_mode: str):
    """Image files as torch-fidelity reads them (uint8 CHW), resized and centre-cropped to `size`."""
    from torch_fidelity.datasets import ImagesPathDataset, TransformPILtoRGBTensor
    from torchvision import transforms

    mode = {"bicubic": transforms.InterpolationMode.BICUBIC, "bilinear": transforms.InterpolationMode.BILINEAR,
            "lanczos": transforms.InterpolationMode.LANCZOS}[resize_mode]
    return ImagesPathDataset(list(paths), transforms.Compose(
        [transforms.Resize(size, interpolation=mode), transforms.CenterCrop(size), TransformPILtoRGBTensor()]))


def fidelity_scores(generated: Sequence[str], reference: Sequence[str], config: FidelityConfig,
                    device: str = "auto") -> dict[str, float]:
    """FID, KID (mean, std) and IS (mean, std; of the generated set) by `torch_fidelity.calculate_metrics`, with
    Inception on `device` (the run's: torch-fidelity takes only cuda or not, and uses the current cuda device)."""
    import torch_fidelity

    if len(generated) < 2 or len(reference) < 2:
        raise UsageError(f"FID needs at least 2 images per set, got {len(generated)} generated and {len(reference)} reference")
    config = config.fitted(len(generated), len(reference))
    raw = torch_fidelity.calculate_metrics(
        input1=eval_dataset(generated, config.eval_size, config.resize_mode),
        input2=eval_dataset(reference, config.eval_size, config.resize_mode),
        fid=True, kid=True, isc=True, cuda=resolve_device(device).startswith("cuda"), batch_size=config.batch_size,
        feature_extractor="inception-v3-compat", feature_extractor_weights_path=config.weights,
        kid_subset_size=config.kid_subset_size, isc_splits=config.isc_splits, rng_seed=config.seed,
        cache=False, verbose=False,
        save_cpu_ram=max(len(generated), len(reference)) < _WORKERS_FROM)  # (only) no loader processes for tiny sets
    return {ours: float(raw[theirs]) for theirs, ours in _KEYS.items()}


class FidelityScores(Metric):
    """`fidelity_scores` as a metric: FID and KID are lower-is-better (IS is not); no per-sample scores."""

    lower_is_better = frozenset({"fid", "kid_mean"})

    def __init__(self, config: FidelityConfig, device: str = "auto") -> None:
        super().__init__()
        self.config, self.device = config, device
        self.add_state("generated", [])
        self.add_state("reference", [])

    def update(self, generated: Sequence[str], reference: Sequence[str]) -> None:
        """Image paths; the reference set need not pair with the generated one."""
        self.generated.extend(generated)
        self.reference.extend(reference)

    def compute(self) -> dict[str, float]:
        return fidelity_scores(self.generated, self.reference, self.config, self.device)

    def per_sample(self) -> list[dict[str, float]]:
        return [{} for _ in self.generated]


# ----------------------------------------------------------------------------- CLIPScore


def clip_scores(image_embeddings: "torch.Tensor", text_embeddings: "torch.Tensor") -> "torch.Tensor":
    """Per row: max(100 * cosine(image, text), 0)."""
    import torch

    cosine = torch.nn.functional.cosine_similarity(image_embeddings.float(), text_embeddings.float(), dim=-1)
    return (100 * cosine).clamp(min=0)


class ClipScore(Metric):
    """CLIPScore of (image, caption) pairs with a transformers CLIPModel; images at any size (CLIP preprocesses)."""

    def __init__(self, model: Any, processor: Any, device: Union[str, torch.device] = "cpu", batch_size: int = 32) -> None:
        import torch

        super().__init__()
        self.device, self.batch_size = torch.device(device), batch_size
        self.model, self.processor = model.to(self.device).eval(), processor
        self.add_state("scores", [])

    def _embed(self, images: Sequence[Image.Image], captions: Sequence[str]) -> tuple["torch.Tensor", "torch.Tensor"]:
        import torch

        with torch.no_grad():
            return self._embed_grad_free(images, captions)

    def _embed_grad_free(self, images: Sequence[Image.Image], captions: Sequence[str]):
        from .geneval.colors import _features

        pixels = self.processor.image_processor(images=list(images), return_tensors="pt")["pixel_values"]
        tokens = self.processor.tokenizer(list(captions), padding=True, truncation=True, max_length=77, return_tensors="pt")
        image = _features(self.model.get_image_features(pixel_values=pixels.to(self.device)))
        text = _features(self.model.get_text_features(input_ids=tokens["input_ids"].to(self.device),
                                                      attention_mask=tokens["attention_mask"].to(self.device)))
        return image.float().cpu(), text.float().cpu()

    def update(self, images: Sequence[Union[str, Image.Image]], captions: Sequence[str]) -> None:
        check_same_length(images=images, captions=captions)
        for start in range(0, len(images), self.batch_size):
            chunk = [Image.open(i).convert("RGB") if isinstance(i, str) else i for i in images[start:start + self.batch_size]]
            self.scores.extend(clip_scores(*self._embed(chunk, captions[start:start + self.batch_size])).tolist())

    def compute(self) -> dict[str, float]:
        return {"clip_score": sum(self.scores) / len(self.scores)} if self.scores else {}

    def per_sample(self) -> list[dict[str, float]]:
        return [{"clip_score": s} for s in self.scores]


def check_clip_available(weights: str, task: str) -> None:
    """A local path must be a folder, and offline a hub id must already be in the Hugging Face cache; say how
    to get past it in one line (before generation, not after)."""
    if is_local_path(str(weights)):
        if not os.path.isdir(os.path.expanduser(weights)):
            raise UsageError(f"--set {task}.clip_weights={weights}: no such folder (a CLIPModel folder or a hub id)")
        return
    if not offline():
        return
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = isinstance(try_to_load_from_cache(weights, "config.json"), str)
    except ValueError:  # not a valid hub id either (e.g. a folder that does not exist)
        cached = False
    if not cached:
        raise UsageError(f"offline and CLIP weights {weights!r} are not cached: pass --set {task}.clip_weights=DIR "
                         f"(a CLIPModel folder) or --set {task}.clip_score=false")
