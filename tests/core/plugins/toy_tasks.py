"""Toy tasks for harness tests, loaded with --include-path (they are not built in).

`toy-colors`: "what colour is the shape?" on images of one coloured square;
`toy-draw`: "draw a <colour> square", scored by the colour of the drawing.
"""

from dataclasses import dataclass

from PIL import Image

from ddit_eval.api import ANSWER, GENERATE_IMAGES, AnswerRequest, Evaluation, ImageRequest, Sample, Task
from ddit_eval.doubles import BACKGROUND, PALETTE, _colour_counts
from ddit_eval.registry import register_task
from ddit_eval.settings import Settings, setting

COLOURS = sorted(PALETTE)


def _render(colour: str, index: int) -> Image.Image:
    image = Image.new("RGB", (32, 32), BACKGROUND)
    x = 2 + (index * 5) % 16
    image.paste(PALETTE[colour], (x, 8, x + 12, 20))
    return image


@dataclass(frozen=True)
class ToyColorsSettings(Settings):
    num_samples: int = setting(40, "squares asked about")
    image_dir: str = setting("", "read the images from this folder instead (empty: render them)")
    steps: int = setting(4, "text-diffusion steps")


@register_task
class ToyColors(Task):
    name = "toy-colors"
    description = "toy: name the colour of a square"
    data_source = "rendered in memory from the sample index, or read from image_dir"
    primary_metric = "accuracy"
    request_kind = ANSWER
    settings_type = ToyColorsSettings

    def samples(self):
        for i in range(self.settings.num_samples):
            yield Sample(id=f"c{i:04d}", doc={"index": i, "colour": COLOURS[(i * 7) % len(COLOURS)]})

    def build_request(self, sample, seed):
        if self.settings.image_dir:
            with Image.open(f"{self.settings.image_dir}/{sample.id}.png") as f:
                image = f.convert("RGB")
        else:
            image = _render(sample.doc["colour"], sample.doc["index"])
        return AnswerRequest(id=sample.id, image=image, prompt="Q: What colour is the square? A: ", seed=seed,
                             steps=self.settings.steps)

    def describe_sample(self, sample):
        return {"question": "What colour is the square?", "answer": sample.doc["colour"]}

    def evaluate(self, records):
        per = [{"accuracy": 100.0 * (r["prediction"] == r["answer"])} for r in records]
        return Evaluation({"accuracy": sum(p["accuracy"] for p in per) / len(per)}, per)


@dataclass(frozen=True)
class ToyDrawSettings(Settings):
    num_samples: int = setting(6, "prompts")
    images_per_prompt: int = setting(2, "images drawn per prompt")


@register_task
class ToyDraw(Task):
    name = "toy-draw"
    description = "toy: draw a square of a given colour"
    data_source = "prompts generated from the sample index"
    primary_metric = "correct"
    request_kind = GENERATE_IMAGES
    settings_type = ToyDrawSettings

    def samples(self):
        for i in range(self.settings.num_samples):
            yield Sample(id=f"d{i:03d}", doc={"colour": COLOURS[i % len(COLOURS)]})

    def build_request(self, sample, seed):
        return ImageRequest(id=sample.id, prompt=f"a photo of a {sample.doc['colour']} square", seed=seed,
                            num_images=self.settings.images_per_prompt, resolution=32)

    def describe_sample(self, sample):
        return {"prompt": f"a photo of a {sample.doc['colour']} square", "colour": sample.doc["colour"]}

    def evaluate(self, records):
        per = []
        for r in records:
            hits = [sample_colour(p) == r["colour"] for p in r["prediction"]]
            per.append({"correct": 100.0 * sum(hits) / len(hits)})
        return Evaluation({"correct": sum(p["correct"] for p in per) / len(per)}, per)


def sample_colour(path):
    with Image.open(path) as image:
        counts = _colour_counts(image)
    return max(counts, key=counts.get) if counts else None
