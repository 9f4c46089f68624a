"""Shared plumbing of the real understanding benchmarks (no task is registered here).

The data half of a benchmark task: it declares its data (hub id, config, split,
the columns a sample keeps); this module does the rest: the `dataset` /
`revision` settings, lazy rows and images decoded by the runner's loader
threads.  The answer half (prompt protocols, answer health) is
`_answer_common`, and the scoring rules are `_answer_rules`, both shared with
the shapes tasks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Iterator, Optional, Sequence

from ddit_eval.api import Evaluation, Sample, Task
from ddit_eval.data import DataRef, Table, check_dataset, check_revision, open_table
from ddit_eval.errors import UsageError
from ddit_eval.prompts import DDIT_VQA  # noqa: F401  (the prompts live here for the tasks and interop)
from ddit_eval.settings import Settings, setting

from ._answer_common import LMMS_SHORT, AnswerSettings, AnswerTask, Protocol, with_answer_health  # noqa: F401
from ._answer_rules import VQARules, VQARuleSettings

DDIT_VIZWIZ = ("Q: {question} Answer the question using a single word or phrase. "
               "Reply unanswerable if information is not present in the image. A: ")
LMMS_UNANSWERABLE = ("{question}\nWhen the provided information is insufficient, respond with 'Unanswerable'.\n"
                     "Answer the question using a single word or phrase.")


@dataclass(frozen=True)
class HubData(Settings):
    """Which split of which hub dataset; each task gives its own defaults (`HubData.with_default`)."""

    dataset: str = setting("", "hub dataset id, or a local copy (hub snapshot or save_to_disk folder)", check=check_dataset)
    revision: Optional[str] = setting(None, "hub commit, branch or tag (none: main; the commit is recorded)")
    config: Optional[str] = setting(None, "hub config name (none: the dataset's default)")
    split: str = setting("", "the split read")


@dataclass(frozen=True)
class HubAnswerSettings(AnswerSettings, HubData):
    """A hub answer task's settings: its data, then how the model is asked."""


@dataclass(frozen=True)
class HubVQASettings(VQARuleSettings, HubAnswerSettings):
    """Hub VQA tasks: scored with the official VQA accuracy."""


def also_works(name: str) -> str:
    return f"hub lmms-lab/{name} (also lmms-lab-encoder/{name}, or a local copy: --set dataset=DIR)"


class HubTask(Task):
    """The data half: one split of a hub dataset or its local copy, read lazily."""

    doc_columns: ClassVar[tuple[str, ...]]  # what a sample's record holds (never the image)
    # heavy doc columns (ten answers a question) read from Arrow when the record is written, not held by
    # every sample: memory stays flat over a 214K-question split
    reference_columns: ClassVar[tuple[str, ...]] = ()
    image_column: ClassVar[str] = "image"

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        try:  # a revision with a local folder would be recorded, yet read nothing: refused before any work
            check_revision(self.settings.dataset, self.settings.revision)
        except ValueError as exc:
            raise UsageError(f"task {self.name!r}: setting revision: {exc}") from None

    @property
    def dataset_id(self) -> str:  # recorded by Task.config
        return self.settings.dataset

    @property
    def dataset_revision(self) -> Optional[str]:
        return self.settings.revision

    @cached_property
    def table(self) -> Table:
        s = self.settings
        table = open_table(DataRef(s.dataset, s.split, s.config, s.revision))
        table.require(self.doc_columns)
        return table

    def sample_id(self, row: dict) -> str:
        """The benchmark's own id of a row (also how `score` matches predictions made elsewhere)."""
        return str(row["question_id"])

    def sample_columns(self) -> tuple[str, ...]:
        """The columns a sample holds: the light ones (references are read when the record is written)."""
        return tuple(c for c in self.doc_columns if c not in self.reference_columns)

    def samples(self) -> Iterator[Sample]:
        for index, row in enumerate(self.table.rows(self.sample_columns())):
            yield Sample(id=self.sample_id(row), doc={**row, "row": index})

    def describe_sample(self, sample: Sample) -> dict:
        if not self.reference_columns:
            return dict(sample.doc)
        return {**sample.doc, **self.table.row(sample.doc["row"], self.reference_columns)}

    def image(self, sample: Sample):
        return self.table.image(sample.doc["row"], self.image_column)

    def config(self) -> dict:
        return {**super().config(), "dataset": self.table.provenance}


class HubAnswerTask(HubTask, AnswerTask):
    """Image + question benchmarks: the hub's rows, asked as the chosen protocol says (`_answer_common`)."""

    settings_type = HubAnswerSettings


class HubVQATask(VQARules, HubAnswerTask):
    """Scored with the official VQA accuracy (VQAv2, VizWiz, OK-VQA), per `group_column` where there is one."""

    settings_type = HubVQASettings

    def describe_sample(self, sample: Sample) -> dict:
        """References as their answer texts (the accuracy reads nothing else): a 214K-line log stays light."""
        from ddit_eval.metrics.vqa import answer_texts

        doc = super().describe_sample(sample)
        if doc.get("answers") is not None:
            doc["answers"] = answer_texts(doc["answers"])
        return doc


class SubmissionTask(HubAnswerTask):
    """A test split without public answers: the run writes the test server's file; nothing is scored here."""

    primary_metric = None
    submission: ClassVar[str]  # file name written in the run folder
    server: ClassVar[str]  # where to upload it

    def evaluate(self, records: Sequence[dict]) -> Evaluation:
        evaluation = Evaluation({"answered": float(len(records))}, [{} for _ in records],
                                [f"submit {self.submission} to {self.server} for the score"])
        return with_answer_health(evaluation, records)
