"""The narrow interfaces every part of ddit-eval plugs into.

Tasks turn samples into frozen *requests*; a model has one batched method per
request kind; the runner groups, batches and records.  Nothing here loads data
or weights, so importing it is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterator, Mapping, Optional, Protocol, Sequence, runtime_checkable

from PIL import Image

from .errors import UsageError
from .evaluation import Evaluation  # noqa: F401 - part of the interface: what Task.evaluate returns
from .settings import Settings

# --------------------------------------------------------------------------- requests

GENERATE_IMAGES = "generate_images"
CAPTION = "caption"
ANSWER = "answer"
REQUEST_KINDS = (GENERATE_IMAGES, CAPTION, ANSWER)  # what a task may ask of a model; a backend serves some


@dataclass(frozen=True)
class ImageRequest:
    """Text-to-image: `num_images` images for one prompt.

    Image k of the request must depend only on (`seed`, k, prompt, settings),
    never on what else is in the batch.  `None` settings mean the model's default.
    """

    id: str
    prompt: str
    seed: int
    num_images: int = 1
    steps: Optional[int] = None
    guidance: Optional[float] = None
    resolution: Optional[int] = None
    negative_prompt: str = ""


@dataclass(frozen=True)
class CaptionRequest:
    """Image-to-text with nothing fixed: the model describes the image."""

    id: str
    image: Image.Image
    seed: int
    steps: Optional[int] = None
    length: Optional[int] = None  # text positions to fill; None = the model's default


@dataclass(frozen=True)
class AnswerRequest:
    """Image + prompt to answer (VQA infill).

    `prompt` is the full text the model sees (the task applied its template).
    `answer_length` bounds the masked positions after the prompt; None keeps
    the paper's protocol (fill the model's whole text length).
    """

    id: str
    image: Image.Image
    prompt: str
    seed: int
    steps: Optional[int] = None
    answer_length: Optional[int] = None


Request = ImageRequest | CaptionRequest | AnswerRequest


# --------------------------------------------------------------------------- models


@runtime_checkable
class Model(Protocol):
    """What the runner needs from a model: one batched call per request kind, and a few facts.

    Each method returns one output per request, in order; a row's output must
    not depend on the other rows of the batch.  A method may raise for a whole
    batch; the runner then retries rows one by one to isolate the failing one.
    """

    name: str
    text_window: int  # text positions the model reads and writes (prompt + answer); tasks ask for at most this

    def config(self) -> dict:
        """JSON-serialisable description: weights, dtype, device, default settings."""

    def prepare(self, request: Request) -> Request:
        """The request with its image decoded and resized ahead of time (loader threads); may return it as is."""

    def network_calls(self) -> Optional[int]:
        """Network rows evaluated so far (the steps ablation's cost); None for a model that does not count."""

    def take_notes(self) -> list[str]:
        """Remarks since the last call, for the run's notes (e.g. prompts clamped to the text window); then forgets them."""

    def generate_images(self, requests: Sequence[ImageRequest]) -> list[list[Image.Image]]: ...

    def caption(self, requests: Sequence[CaptionRequest]) -> list[str]: ...

    def answer(self, requests: Sequence[AnswerRequest]) -> list[str]: ...


# --------------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class Sample:
    """One benchmark item: a stable string id and a light document (no pixels).

    `doc` holds whatever the task needs later: question, references, an image
    reference (path, dataset row index) that `Task.build_request` opens lazily.
    """

    id: str
    doc: Mapping[str, Any] = field(default_factory=dict)


class Benchmark:
    """What every registered benchmark declares: identity, data, settings, provenance and report lines.

    Three kinds plug in, each declared below: a `Task` (samples the runner drives one batch at a time),
    a `Pipeline` (durable steps of its own) and a `Sweep` (expands into `Cell` tasks).  Class attributes
    are facts readable without loading anything (for `list-tasks`).  `settings_type` declares every
    setting `--set` may change (ddit_eval.settings): building the benchmark validates the values given and
    keeps them as `self.settings`, a frozen instance of it.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    data_source: ClassVar[str]
    primary_metric: ClassVar[Optional[str]]
    request_kind: ClassVar[Optional[str]] = None  # what it asks of a model (the CLI checks the backend serves it)
    # splits its metric names carry as a prefix or suffix (POPE's `random_f1`): report.md's table columns
    metric_splits: ClassVar[tuple[str, ...]] = ()
    # which data, exactly: a hub dataset id and its pinned revision, or a generator and its version
    dataset_id: ClassVar[str | None] = None
    dataset_revision: ClassVar[str | None] = None
    # the frozen, typed settings declaration; checked at construction, before any model work
    settings_type: ClassVar[type[Settings]] = Settings

    def __init__(self, **settings: Any) -> None:
        self.settings = self.settings_type.build(self.name, settings)

    def config(self) -> dict:
        """Everything that defines this benchmark's protocol; recorded in results.json."""
        return {"name": self.name, "data_source": self.data_source,
                "dataset": {"id": self.dataset_id, "revision": self.dataset_revision}, "settings": self.settings.as_dict()}

    def preflight(self) -> None:
        """Check what scoring will need (Java, weights, data) before the model loads; raise UsageError."""

    device: str = "auto"  # the run's --device (use_device); scorers resolve it with environment.resolve_device

    def use_device(self, device: str) -> None:
        """The run's --device, for the models the benchmark loads to score (detector, CLIP, Inception, probe)."""
        self.device = device

    def plots(self, records: Sequence[dict], evaluation: Evaluation, out_dir: str) -> list[str]:
        """After scoring: write PNGs under out_dir; return their paths."""
        return []

    def write_outputs(self, records: Sequence[dict], evaluation: Evaluation, out_dir: str) -> list[str]:
        """After scoring: write files besides plots (a test server's submission) under out_dir; return their paths."""
        return []

    @classmethod
    def report_sections(cls, summary: dict, config: dict) -> list[str]:
        """Markdown lines this benchmark adds to a run's report.md, from its results.json entry (`summary`) and the
        run's `config` (e.g. the paper's rows beside the measured one).  A class method: reports are written
        from results.json, without the benchmark's data or weights."""
        return []


class Task(Benchmark):
    """A benchmark of samples: the runner builds each sample's request, batches them through the model,
    logs every prediction, then calls `evaluate` once."""

    request_kind: ClassVar[str]
    primary_metric: ClassVar[Optional[str]]  # None: nothing is scored here (a test server's submission)

    @property
    def seed_scope(self) -> str:
        """The name per-sample seeds derive from: tasks that re-run another task's samples (an ablation's
        cells) return that task's name, so a sample keeps its seed across the cells and they stay paired."""
        return self.name

    # -- data
    def samples(self) -> Iterator[Sample]:
        """Every sample, in a fixed order, loading no pixels."""
        raise NotImplementedError

    def build_request(self, sample: Sample, seed: int) -> Request:
        """The model request for a sample; may open its image (errors become sample errors)."""
        raise NotImplementedError

    def describe_sample(self, sample: Sample) -> dict:
        """JSON fields written next to the prediction: model input and references."""
        return dict(sample.doc)

    # -- `--limit N`: a selection spread over the benchmark's splits or categories (ddit_eval.selection)
    stratum_name: ClassVar[str] = "split"  # what a stratum is, in the run's notes

    def stratum(self, sample: Sample) -> Optional[str]:
        """The split or category a sample belongs to (POPE's adversarial/popular/random); None: no strata."""
        return None

    def sample_id(self, row: dict) -> Optional[str]:
        """The sample id of a prediction line that carries none (`score` of another tool's file, which names the
        benchmark's own keys, e.g. question_id); None when this task cannot tell."""
        return None

    # -- `score --images-dir`: images another model made, in this task's official layout
    scores_images_dir: ClassVar[bool] = False

    def records_from_images_dir(self, path: str) -> list[dict]:
        """One record per sample of the folder at `path` (tasks with `scores_images_dir` only)."""
        raise UsageError(f"task {self.name} has no image-folder scoring")

    # -- scoring
    def evaluate(self, records: Sequence[dict]) -> Evaluation:
        """Score records (each has `id`, `prediction` and `describe_sample` fields)."""
        raise NotImplementedError

    # -- gating (`compare`)
    def group_of(self, record: dict) -> str:
        """The bootstrap's resampling unit: records of one group are drawn together (MME pairs by image)."""
        return record["id"]

    def aggregate(self, records: Sequence[dict]) -> Optional[dict[str, float]]:
        """Headline metrics recomputed from scored records (each with `scores`), without re-running models.

        Lets `compare` bootstrap metrics that are not means of per-sample scores (MME perception,
        GenEval overall).  None: this task cannot; such metrics are then not gateable.
        """
        return None


class Pipeline(Benchmark):
    """A benchmark with durable steps of its own (feature-probe: features, training, answering) instead of the
    runner's sample loop.  Not data-parallel: rank 0 runs it."""

    def run_pipeline(self, model: Model, run_dir: str, options: Any) -> Any:
        """Run every step, resuming what is on disk; return a `scoring.TaskOutcome`, as `TaskRunner.run` does."""
        raise NotImplementedError


class Sweep(Benchmark):
    """A benchmark that `run` expands into cells (steps-ablation): each cell a `Cell`, a normal task with its own
    samples file; after the cells ran, `summarize` writes the sweep's tables and plots."""

    task_names: list[str]  # the tasks it runs (a scoped --set reaches them)

    def cells(self, inner_settings: Optional[Mapping[str, dict]] = None) -> list["Cell"]:
        """The cells, in order; `inner_settings[task]`: that task's own --set values."""
        raise NotImplementedError

    def summarize(self, cells: Sequence["Cell"], summaries: Mapping[str, dict], records: Mapping[str, list[dict]],
                  out_dir: str) -> dict:
        """The sweep's summary (results.json `ablations.<name>`), with the files and plots it wrote."""
        raise NotImplementedError


class Cell(Task):
    """One cell of a `Sweep`: the run also records its cost (network calls) and hands it to the sweep."""

    ablation: Sweep
