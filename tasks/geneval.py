"""geneval: GenEval's 553 official prompts, 4 images each, scored with the official detector and colour classifier.

The detector is the official Mask2Former Swin-S checkpoint (mmdet 2.x or 3.x file),
converted into transformers' Mask2Former and run with mmdet's own test pipeline
and post-processing (ddit_eval.geneval), so no mmdet/mmcv install is needed.
Colours: CLIP ViT-L/14 (OpenAI weights, QuickGELU).  The run also writes the
official folder layout (`geneval/<index>/metadata.jsonl`, `samples/NNNN.png`,
`grid.png`) and the official `results.jsonl`.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Iterator, Optional, Sequence

from ddit_eval.api import GENERATE_IMAGES, Evaluation, ImageRequest, Sample, Task
from ddit_eval.errors import UsageError
from ddit_eval.registry import register_task
from ddit_eval.settings import existing_path, integer, number, one_of, optional_int

CLIP_WEIGHTS = "openai/clip-vit-large-patch14"


@register_task
class GenEval(Task):
    name = "geneval"
    description = "GenEval (553 official prompts x 4 images): official Mask2Former detector + CLIP colours, no mmdet"
    data_source = "official evaluation_metadata.jsonl (pinned commit, cached) or --set geneval.metadata=PATH"
    primary_metric = "overall"
    request_kind = GENERATE_IMAGES
    dataset_id = "djghosh13/geneval prompts/evaluation_metadata.jsonl"
    default_settings = {"metadata": None, "images_per_prompt": 4, "resolution": None, "steps": None, "guidance": None,
                        "detector_weights": None, "detector_sha256": None, "clip_weights": CLIP_WEIGHTS,
                        "scorer_dtype": "fp32"}
    setting_checks = {"metadata": existing_path(kind="metadata file"), "images_per_prompt": integer(1),
                      "resolution": optional_int(8), "steps": optional_int(1), "guidance": number(0, allow_none=True),
                      "detector_weights": existing_path(kind="detector checkpoint (.pth) or transformers folder"),
                      "scorer_dtype": one_of(("fp32", "bf16", "fp16"))}

    @cached_property
    def metadata(self) -> list[dict]:
        from ddit_eval.geneval.metadata import load_metadata

        return load_metadata(self.settings["metadata"])

    def samples(self) -> Iterator[Sample]:
        for i, line in enumerate(self.metadata):
            yield Sample(id=f"{i:05d}", doc={"prompt": line["prompt"], "tag": line["tag"], "metadata": line})

    def build_request(self, sample: Sample, seed: int) -> ImageRequest:
        s = self.settings
        return ImageRequest(id=sample.id, prompt=sample.doc["prompt"], seed=seed, num_images=s["images_per_prompt"],
                            steps=s["steps"], guidance=s["guidance"], resolution=s["resolution"])

    def preflight(self) -> None:
        """Metadata and weights are checked before hours of generation, not after."""
        self.metadata
        if not self.settings["detector_weights"]:
            from ddit_eval.geneval.detector import OFFICIAL_CHECKPOINT

            raise UsageError(f"geneval needs the official detector checkpoint: download {OFFICIAL_CHECKPOINT} "
                             "(GenEval's download_models.sh) and pass --set geneval.detector_weights=PATH")

    # -- scoring
    def scorers(self):
        """(detector, colour classifier), loaded once per task object."""
        import torch

        from ddit_eval.geneval.colors import ClipColorClassifier, load_clip
        from ddit_eval.geneval.detector import Mask2FormerDetector, load_official_detector

        device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[self.settings["scorer_dtype"]]
        weights = self.settings["detector_weights"]
        if weights and Path(weights).is_dir():  # a transformers folder (a converted or test model)
            from transformers import Mask2FormerForUniversalSegmentation

            detector = Mask2FormerDetector(Mask2FormerForUniversalSegmentation.from_pretrained(weights), device, dtype)
        else:
            detector = load_official_detector(weights, self.settings["detector_sha256"], device=device, dtype=dtype)
        model, processor = load_clip(self.settings["clip_weights"])
        return detector, ClipColorClassifier(model, processor, device=device, dtype=dtype)

    def evaluate(self, records: Sequence[dict]) -> Evaluation:
        from ddit_eval.metrics.geneval import GenEvalScore

        metric = GenEvalScore(*self.scorers())
        metric.update([r["prediction"] for r in records], [r["metadata"] for r in records])
        self.image_rows = metric.rows  # for write_outputs: the official results.jsonl without a second detector run
        notes = []
        if len(records) < len(self.metadata):
            notes.append(f"scored {len(records)} of {len(self.metadata)} prompts: not comparable with the paper's GenEval")
        return Evaluation(metric.compute(), metric.per_sample(), notes)

    def aggregate(self, records: Sequence[dict]) -> Optional[dict[str, float]]:
        from ddit_eval.metrics.geneval import summary_from_prompt_scores

        return summary_from_prompt_scores(records)

    def write_outputs(self, records: Sequence[dict], evaluation: Evaluation, out_dir: str) -> list[str]:
        """The official images layout (so the official evaluate_images.py can read the run) and results.jsonl."""
        from PIL import Image

        from ddit_eval.geneval.metadata import write_official_layout
        from ddit_eval.metrics.geneval import write_results_jsonl

        root = Path(out_dir) / "geneval"
        for r in records:
            write_official_layout(root, int(r["id"]), r["metadata"], [Image.open(p) for p in r["prediction"]])
        written = [str(root)]
        if getattr(self, "image_rows", None):
            write_results_jsonl(self.image_rows, str(Path(out_dir) / "geneval_results.jsonl"))
            written.append(str(Path(out_dir) / "geneval_results.jsonl"))
        return written

    def config(self) -> dict:
        from ddit_eval.geneval.convert import CONVERTER_VERSION
        from ddit_eval.geneval.metadata import METADATA_SHA256, PINNED_COMMIT

        return {**super().config(), "metadata_commit": PINNED_COMMIT, "metadata_sha256": METADATA_SHA256,
                "converter_version": CONVERTER_VERSION, "clip_activation": "quick_gelu"}
