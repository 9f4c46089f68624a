"""geneval: GenEval's 553 official prompts, 4 images each, scored with the official detector and colour classifier.

The detector is the official Mask2Former Swin-S checkpoint (mmdet 2.x or 3.x file),
converted into transformers' Mask2Former and run with mmdet's own test pipeline
and post-processing (ddit_eval.geneval), so no mmdet/mmcv install is needed.
Colours: CLIP ViT-L/14 (OpenAI weights, QuickGELU).  The run also writes the
official folder layout (`geneval/<index>/metadata.jsonl`, `samples/NNNN.png`,
`grid.png`) and the official `results.jsonl`; `score --images-dir` scores such a
folder that any model made.  The report shows, per tag, images captioned with
the official pass/fail reason, and the paper's rows beside a full-protocol score.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Iterator, Optional, Sequence

from ddit_eval.api import GENERATE_IMAGES, Evaluation, ImageRequest, Sample, Task
from ddit_eval.errors import UsageError
from ddit_eval.registry import register_task
from ddit_eval.settings import existing_path, setting

from ._generation_common import ImageGenerationSettings

CLIP_WEIGHTS = "openai/clip-vit-large-patch14"
RESULTS_FILE = "geneval_results.jsonl"
RUN_SEEDING = ("per prompt: the 'seed' in samples/geneval.jsonl, from (run seed, task, prompt index); "
               "the model derives image k's noise from (that seed, k)")


@dataclass(frozen=True)
class GenEvalSettings(ImageGenerationSettings):
    metadata: Optional[str] = setting(None, "the prompts' evaluation_metadata.jsonl (none: the official one, pinned)",
                                      check=existing_path("metadata file"))
    images_per_prompt: int = setting(4, "images drawn per prompt (GenEval: 4)", minimum=1)
    detector_weights: Optional[str] = setting(None, "the official Mask2Former checkpoint (.pth) or a transformers folder "
                                              "(required to score)",
                                              check=existing_path("detector checkpoint (.pth) or transformers folder"))
    detector_sha256: Optional[str] = setting(None, "expected sha256 of the detector file (none: the official one's)")
    clip_weights: str = setting(CLIP_WEIGHTS, "CLIP ViT-L/14 weights of the colour classifier (hub id or folder)")
    scorer_dtype: str = setting("fp32", "dtype of the detector and CLIP", choices=("fp32", "bf16", "fp16"))


@register_task
class GenEval(Task):
    name = "geneval"
    description = "GenEval (553 official prompts x 4 images): official Mask2Former detector + CLIP colours, no mmdet"
    data_source = "official evaluation_metadata.jsonl (pinned commit, cached) or --set geneval.metadata=PATH"
    primary_metric = "overall"
    request_kind = GENERATE_IMAGES
    dataset_id = "djghosh13/geneval prompts/evaluation_metadata.jsonl"
    settings_type = GenEvalSettings
    image_rows: Optional[list[dict]] = None  # the official per-image rows of the last evaluate()
    images_folder = None  # the scanned ImagesFolder, when scoring `score --images-dir`

    @cached_property
    def metadata(self) -> list[dict]:
        from ddit_eval.geneval.metadata import load_metadata

        return load_metadata(self.settings.metadata)

    def samples(self) -> Iterator[Sample]:
        for i, line in enumerate(self.metadata):
            yield Sample(id=f"{i:05d}", doc={"prompt": line["prompt"], "tag": line["tag"], "metadata": line})

    scores_images_dir = True

    def records_from_images_dir(self, path: str) -> list[dict]:
        """`score --images-dir`: a record per prompt folder of the official layout, as the runner records a prompt
        (id, describe_sample fields, absolute image paths); folders must match the metadata, images be readable."""
        from ddit_eval.geneval.images_folder import scan_images_folder

        self.images_folder = scan_images_folder(path, self.metadata)
        samples = list(self.samples())
        return [{"id": samples[i].id, **self.describe_sample(samples[i]), "prediction": paths}
                for i, paths in self.images_folder.prompts]

    def build_request(self, sample: Sample, seed: int) -> ImageRequest:
        s = self.settings
        return ImageRequest(id=sample.id, prompt=sample.doc["prompt"], seed=seed, num_images=s.images_per_prompt,
                            steps=s.steps, guidance=s.guidance, resolution=s.resolution)

    def preflight(self) -> None:
        """Metadata and weights are checked before hours of generation, not after."""
        self.metadata
        if not self.settings.detector_weights:
            from ddit_eval.geneval.detector import OFFICIAL_CHECKPOINT

            raise UsageError(f"geneval needs the official detector checkpoint: download {OFFICIAL_CHECKPOINT} "
                             "(GenEval's download_models.sh) and pass --set geneval.detector_weights=PATH")

    # -- scoring
    def scorers(self):
        """(detector, colour classifier), loaded once per task object, on the run's device (--device)."""
        import torch

        from ddit_eval.environment import resolve_device
        from ddit_eval.geneval.colors import ClipColorClassifier, load_clip
        from ddit_eval.geneval.detector import Mask2FormerDetector, load_official_detector

        device = resolve_device(self.device)
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[self.settings.scorer_dtype]
        weights = self.settings.detector_weights
        if weights and Path(weights).is_dir():  # a transformers folder (a converted or test model)
            from transformers import Mask2FormerForUniversalSegmentation

            detector = Mask2FormerDetector(Mask2FormerForUniversalSegmentation.from_pretrained(weights), device, dtype)
        else:
            detector = load_official_detector(weights, self.settings.detector_sha256, device=device, dtype=dtype)
        model, processor = load_clip(self.settings.clip_weights)
        return detector, ClipColorClassifier(model, processor, device=device, dtype=dtype)

    def evaluate(self, records: Sequence[dict]) -> Evaluation:
        from ddit_eval.geneval.provenance import image_sizes, scorer_note
        from ddit_eval.metrics.geneval import GenEvalScore

        detector, colors = self.scorers()
        metric = GenEvalScore(detector, colors)
        metric.update([r["prediction"] for r in records], [r["metadata"] for r in records])
        self.image_rows = metric.rows  # for results.jsonl and the report's grids, without a second detector run
        sizes = image_sizes(r["filename"] for r in metric.rows)
        notes = [scorer_note(detector.device, self.settings.scorer_dtype, sizes)]
        if len(records) < len(self.metadata):
            notes.append(f"scored {len(records)} of {len(self.metadata)} prompts: not comparable with the paper's GenEval")
        return Evaluation.of(metric, notes=notes)

    def aggregate(self, records: Sequence[dict]) -> Optional[dict[str, float]]:
        from ddit_eval.metrics.geneval import summary_from_prompt_scores

        return summary_from_prompt_scores(records)

    def plots(self, records: Sequence[dict], evaluation: Evaluation, out_dir: str) -> list[str]:
        """Per tag, a few prompts' images captioned PASS/FAIL with the official reason, from the rows evaluate()
        kept (or the folder's results.jsonl), never from a second detector run."""
        from ddit_eval.geneval.figures import tag_grids
        from ddit_eval.results import read_jsonl

        saved = Path(out_dir) / RESULTS_FILE
        rows = self.image_rows or (read_jsonl(saved) if saved.is_file() else [])
        return tag_grids(rows, out_dir, self.name) if rows else []

    def write_outputs(self, records: Sequence[dict], evaluation: Evaluation, out_dir: str) -> list[str]:
        """The official images layout (so the official evaluate_images.py can read the run; a scored images
        folder is already in it) and results.jsonl."""
        from PIL import Image

        from ddit_eval.geneval.metadata import write_official_layout
        from ddit_eval.metrics.geneval import write_results_jsonl

        written = []
        if self.images_folder is None:
            root = Path(out_dir) / "geneval"
            for r in records:
                write_official_layout(root, int(r["id"]), r["metadata"], [Image.open(p) for p in r["prediction"]])
            written.append(str(root))
        if self.image_rows:
            write_results_jsonl(self.image_rows, str(Path(out_dir) / RESULTS_FILE))
            written.append(str(Path(out_dir) / RESULTS_FILE))
        return written

    def config(self) -> dict:
        """Settings plus what the score depends on: prompt file, detector file and converter, CLIP, images."""
        from ddit_eval.geneval import metadata as md
        from ddit_eval.geneval.convert import CONVERTER_VERSION
        from ddit_eval.geneval.provenance import detector_facts

        s = self.settings
        sha = md.metadata_sha256(s.metadata)
        official = md.validate_metadata(self.metadata) == md.EXPECTED_TAG_COUNTS and md.METADATA_SHA256 in (None, sha)
        images = self.images_folder.facts() if self.images_folder else {
            "source": "generated by the run", "images_per_prompt": s.images_per_prompt,
            "resolution": s.resolution or "the model's native", "seeding": RUN_SEEDING}
        return {**super().config(), "metadata_commit": md.PINNED_COMMIT, "metadata_sha256": sha,
                "metadata_pinned_sha256": md.METADATA_SHA256, "prompt_set": "official" if official else "custom",
                "converter_version": CONVERTER_VERSION, **detector_facts(s.detector_weights),
                "clip_model": s.clip_weights, "clip_activation": "quick_gelu", "images": images}

    @classmethod
    def report_sections(cls, summary: dict, config: dict) -> list[str]:
        """The paper's D-DiT and SD3 rows beside the measured one, for a full-protocol score only."""
        from ddit_eval.geneval.paper import paper_section

        return paper_section(summary, config, (config.get("tasks") or {}).get(cls.name) or {})
