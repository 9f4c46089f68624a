"""Shared plumbing of the real understanding benchmarks (no task is registered here).

A benchmark task declares its data (hub id, config, split, the columns a
sample keeps), its prompts under each protocol, and its scorer; this module
does the rest: the `dataset` / `revision` settings, lazy rows, images decoded
by the runner's loader threads, the protocol's effective settings, and the
share of empty and unreadable answers.

Protocols: `ddit` (default) is the paper's: D-DiT's prompt, the rest of the
model's text window after it (128 tokens for the released model), answers cut
at the first `</s>`.  `lmms-eval` uses lmms-eval 0.7.3's prompts and its
answer-length limits, for comparison with numbers other models report there.
Where prompt + answer exceed the model's window, the model clamps the row and
the run's notes say so.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Iterator, Optional, Sequence

from ddit_eval.api import ANSWER, AnswerRequest, Evaluation, Sample, Task
from ddit_eval.data import DataRef, Table, check_dataset, check_revision, open_table
from ddit_eval.errors import UsageError
from ddit_eval.metrics.vqa import RULES as VQA_RULES
from ddit_eval.prompts import DDIT_VQA, TEXT_WINDOW
from ddit_eval.settings import one_of, optional_int, template, text

DDIT_VIZWIZ = ("Q: {question} Answer the question using a single word or phrase. "
               "Reply unanswerable if information is not present in the image. A: ")
LMMS_SHORT = "{question}\nAnswer the question using a single word or phrase."
LMMS_UNANSWERABLE = ("{question}\nWhen the provided information is insufficient, respond with 'Unanswerable'.\n"
                     "Answer the question using a single word or phrase.")


@dataclass(frozen=True)
class Protocol:
    """A prompt template and the answer length (None: the rest of the text window)."""

    prompt: str
    answer_length: Optional[int] = None


def data_settings(dataset: str, split: str, config: Optional[str] = None) -> dict[str, Any]:
    return {"dataset": dataset, "revision": None, "config": config, "split": split}


DATA_CHECKS = {"dataset": check_dataset, "revision": text(), "config": text()}
ANSWER_CHECKS = {**DATA_CHECKS, "protocol": one_of(("ddit", "lmms-eval")), "steps": optional_int(1),
                 "answer_length": optional_int(1, TEXT_WINDOW), "prompt_template": template("question", allow_none=True)}


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
            check_revision(self.settings["dataset"], self.settings["revision"])
        except ValueError as exc:
            raise UsageError(f"task {self.name!r}: setting revision: {exc}") from None

    @property
    def dataset_id(self) -> str:  # recorded by Task.config
        return self.settings["dataset"]

    @property
    def dataset_revision(self) -> Optional[str]:
        return self.settings["revision"]

    @cached_property
    def table(self) -> Table:
        s = self.settings
        table = open_table(DataRef(s["dataset"], s["split"], s["config"], s["revision"]))
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


class HubAnswerTask(HubTask):
    """Image + question benchmarks: the prompt and answer length follow the chosen protocol."""

    request_kind = ANSWER
    protocols: ClassVar[dict[str, Protocol]] = {"ddit": Protocol(DDIT_VQA), "lmms-eval": Protocol(LMMS_SHORT, 16)}
    answer_settings: ClassVar[dict[str, Any]] = {"protocol": "ddit", "steps": None, "answer_length": None,
                                                 "prompt_template": None}
    setting_checks = ANSWER_CHECKS

    def question(self, sample: Sample) -> str:
        return sample.doc["question"]

    def effective(self) -> dict[str, Any]:
        """The settings the model actually gets: the protocol's, unless set explicitly."""
        protocol = self.protocols[self.settings["protocol"]]
        length = self.settings["answer_length"]
        return {"protocol": self.settings["protocol"],
                "prompt_template": self.settings["prompt_template"] or protocol.prompt,
                "answer_length": protocol.answer_length if length is None else length,
                "steps": self.settings["steps"], "text_window": TEXT_WINDOW}

    def build_request(self, sample: Sample, seed: int) -> AnswerRequest:
        e = self.effective()
        return AnswerRequest(id=sample.id, image=self.image(sample), prompt=e["prompt_template"].format(question=self.question(sample)),
                             seed=seed, steps=e["steps"], answer_length=e["answer_length"])

    def config(self) -> dict:
        return {**super().config(), **self.effective(), **self.scoring()}

    def scoring(self) -> dict:
        """The named scoring rules in force (recorded with results)."""
        return {}



class HubVQATask(HubAnswerTask):
    """Scored with the official VQA accuracy (VQAv2, VizWiz, OK-VQA), per `group_column` where there is one."""

    primary_metric = "accuracy"
    group_column: ClassVar[Optional[str]] = None  # VQAv2: answer_type; VizWiz: category
    setting_checks = {**ANSWER_CHECKS, "vqa_rule": one_of(VQA_RULES)}

    def prediction(self, record: dict) -> str:
        return str(record["prediction"])

    def describe_sample(self, sample: Sample) -> dict:
        """References as their answer texts (the accuracy reads nothing else): a 214K-line log stays light."""
        from ddit_eval.metrics.vqa import answer_texts

        doc = super().describe_sample(sample)
        if doc.get("answers") is not None:
            doc["answers"] = answer_texts(doc["answers"])
        return doc

    def evaluate(self, records: Sequence[dict]) -> Evaluation:
        from ddit_eval.metrics.vqa import VQAAccuracy

        metric = VQAAccuracy(rule=self.settings["vqa_rule"])
        groups = [r[self.group_column] for r in records] if self.group_column else None
        metric.update([self.prediction(r) for r in records], [r["answers"] for r in records], groups)
        return with_answer_health(Evaluation(metric.compute(), metric.per_sample()), records)

    def scoring(self) -> dict:
        return {"vqa_rule": self.settings["vqa_rule"]}


def with_answer_health(evaluation: Evaluation, records: Sequence[dict], unparsed: Optional[Sequence[bool]] = None) -> Evaluation:
    """Add the share of empty (and unreadable) answers, with a few examples in the notes.

    D-DiT's released checkpoint is known for frequent empty answers: every understanding task says how many.
    """
    from ddit_eval.metrics.answers import answer_health

    metrics, notes = answer_health([str(r["prediction"]) for r in records], ids=[r["id"] for r in records], unparsed=unparsed)
    return dataclasses.replace(evaluation, metrics={**evaluation.metrics, **metrics}, notes=[*evaluation.notes, *notes])


class SubmissionTask(HubAnswerTask):
    """A test split without public answers: the run writes the test server's file; nothing is scored here."""

    primary_metric = None
    submission: ClassVar[str]  # file name written in the run folder
    server: ClassVar[str]  # where to upload it

    def evaluate(self, records: Sequence[dict]) -> Evaluation:
        evaluation = Evaluation({"answered": float(len(records))}, [{} for _ in records],
                                [f"submit {self.submission} to {self.server} for the score"])
        return with_answer_health(evaluation, records)
