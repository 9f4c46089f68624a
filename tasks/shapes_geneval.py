"""shapes-geneval: GenEval's six tags over shape classes, scored by an analytic detector."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from ddit_eval.api import GENERATE_IMAGES, Evaluation, ImageRequest, Sample, Task
from ddit_eval.registry import register_task
from ddit_eval.settings import setting

from ._generation_common import ImageGenerationSettings
from ._shapes_common import ShapesData


@dataclass(frozen=True)
class ShapesGenEvalSettings(ImageGenerationSettings):
    seed: int = setting(0, "the prompt generator's seed")
    prompts_per_tag: int = setting(10, "prompts of each of GenEval's six tags", minimum=1)
    images_per_prompt: int = setting(4, "images drawn per prompt", minimum=1)
    results_jsonl: str = setting("", "also write GenEval's per-image results.jsonl to this path (empty: not)")


@register_task
class ShapesGenEval(ShapesData, Task):
    name = "shapes-geneval"
    description = "GenEval rules (objects, counts, colors, positions) on shape prompts, analytic detector"
    primary_metric = "overall"
    request_kind = GENERATE_IMAGES
    settings_type = ShapesGenEvalSettings

    def samples(self) -> Iterator[Sample]:
        from ddit_eval.shapes import geneval_metadata

        for i, line in enumerate(geneval_metadata(self.settings.seed, self.settings.prompts_per_tag)):
            yield Sample(id=f"geneval-{i:05d}", doc={"prompt": line["prompt"], "tag": line["tag"], "metadata": line})

    def build_request(self, sample: Sample, seed: int) -> ImageRequest:
        s = self.settings
        return ImageRequest(id=sample.id, prompt=sample.doc["prompt"], seed=seed, num_images=s.images_per_prompt,
                            steps=s.steps, guidance=s.guidance, resolution=s.resolution)

    def score(self, records: Sequence[dict]):
        from ddit_eval.metrics.geneval import GenEvalScore
        from ddit_eval.shapes import MeanColorClassifier, ShapeDetector

        metric = GenEvalScore(ShapeDetector(), MeanColorClassifier())
        metric.update([r["prediction"] for r in records], [r["metadata"] for r in records])
        return metric

    def evaluate(self, records: Sequence[dict]) -> Evaluation:
        from ddit_eval.metrics.geneval import write_results_jsonl

        metric = self.score(records)
        if self.settings.results_jsonl:
            write_results_jsonl(metric.rows, self.settings.results_jsonl)
        notes = ["GenEval rules with the analytic shape detector and mean-color classifier (not Mask2Former/CLIP)"]
        return Evaluation.of(metric, notes=notes)

    def aggregate(self, records: Sequence[dict]) -> dict[str, float] | None:
        from ddit_eval.metrics.geneval import summary_from_prompt_scores

        return summary_from_prompt_scores(records)

    def config(self) -> dict:
        from ddit_eval.metrics.geneval import GenEvalScore
        from ddit_eval.shapes import MeanColorClassifier, ShapeDetector

        return {**super().config(), **GenEvalScore(ShapeDetector(), MeanColorClassifier()).config()}

    def plots(self, records: Sequence[dict], evaluation: Evaluation, out_dir: str) -> list[str]:
        """A grid of generated images beside their prompts, green title when correct; a bar chart of tags;
        and the official-format `shapes-geneval_results.jsonl`."""
        from ddit_eval.metrics.geneval import write_results_jsonl

        if not records:
            return []
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        metric = self.score(records)
        write_results_jsonl(metric.rows, str(out / f"{self.name}_results.jsonl"))
        paths = [_image_grid(metric.prompt_rows, out / f"{self.name}-grid.png")]
        tags = [k for k in evaluation.metrics if k not in ("correct_images", "correct_prompts")]
        from ddit_eval.metric_charts import grouped_bar_chart

        chart = out / f"{self.name}.png"
        return paths + ([grouped_bar_chart(evaluation.metrics, tags, (), chart, f"{self.name} (n={len(records)})")] if tags else [])


def _image_grid(prompt_rows: list[list[dict]], path: Path, per_tag: int = 4) -> str:
    """Up to `per_tag` prompts of each tag, one row each: prompt text, then its images."""
    from matplotlib.figure import Figure
    from PIL import Image

    by_tag: dict[str, list] = {}
    for images in prompt_rows:
        by_tag.setdefault(images[0]["tag"], []).append(images)
    rows = [images for group in by_tag.values() for images in group[:per_tag]]
    cols = max(len(r) for r in rows)
    fig = Figure(figsize=(1.3 * cols + 3.2, 1.3 * len(rows)))
    axes = fig.subplots(len(rows), cols + 1, squeeze=False)
    for axrow, images in zip(axes, rows):
        axrow[0].text(0, 0.5, images[0]["prompt"], fontsize=7, va="center", wrap=True)
        for ax in axrow:
            ax.axis("off")
        for ax, row in zip(axrow[1:], images):
            with Image.open(row["filename"]) as f:
                ax.imshow(f.convert("RGB"))
            ax.set_title("ok" if row["correct"] else "x", fontsize=6, color="green" if row["correct"] else "red")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    return str(path)
