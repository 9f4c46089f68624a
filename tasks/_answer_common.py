"""The answer half of every image + question task (no task is registered here).

Hub benchmarks and their shapes twins differ only in where samples and images
come from; what the model is asked and how its answers' health is reported is
this one piece, so both families record the same `protocol`, prompt, answer
length and `empty_answers`.

Protocols: `ddit` (default) is the paper's: D-DiT's prompt, the rest of the
model's text window after it (128 tokens for the released model), answers cut
at the first `</s>`.  `lmms-eval` uses lmms-eval 0.7.3's prompts and its
answer-length limits, for comparison with numbers other models report there.
Where prompt + answer exceed the model's window, the model clamps the row and
the run's notes say so.  The scoring rules in force are a separate record,
`scoring()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Optional, Sequence

from ddit_eval.api import ANSWER, AnswerRequest, Evaluation, Sample, Task
from ddit_eval.prompts import DDIT_VQA, TEXT_WINDOW
from ddit_eval.settings import Settings, setting, template

LMMS_SHORT = "{question}\nAnswer the question using a single word or phrase."


@dataclass(frozen=True)
class Protocol:
    """A prompt template and the answer length (None: the rest of the text window)."""

    prompt: str
    answer_length: Optional[int] = None


SHORT_ANSWER_PROTOCOLS = {"ddit": Protocol(DDIT_VQA), "lmms-eval": Protocol(LMMS_SHORT, 16)}


@dataclass(frozen=True)
class AnswerSettings(Settings):
    """How the model is asked, declared once for every answer task (hub or shapes)."""

    protocol: str = setting("ddit", "prompt protocol: ddit (the paper's) or lmms-eval (its prompts, answer lengths)",
                            choices=("ddit", "lmms-eval"))
    steps: Optional[int] = setting(None, "text-diffusion steps of the answer (none: the model's default)", minimum=1)
    answer_length: Optional[int] = setting(None, "masked answer positions after the prompt (none: the protocol's)",
                                           minimum=1, maximum=TEXT_WINDOW)
    prompt_template: Optional[str] = setting(None, "the prompt, with a {question} placeholder (none: the protocol's)",
                                             check=template("question"))


class AnswerTask(Task):
    """Image + question: the prompt and answer length follow the chosen protocol; the data half gives `image`."""

    request_kind = ANSWER
    protocols: ClassVar[dict[str, Protocol]] = SHORT_ANSWER_PROTOCOLS
    settings_type = AnswerSettings

    def image(self, sample: Sample):
        """The sample's picture (the data half: a hub row, or a rendered scene)."""
        raise NotImplementedError

    def question(self, sample: Sample) -> str:
        return sample.doc["question"]

    def effective(self) -> dict[str, Any]:
        """The settings the model actually gets: the protocol's, unless set explicitly."""
        s = self.settings
        protocol = self.protocols[s.protocol]
        return {"protocol": s.protocol, "prompt_template": s.prompt_template or protocol.prompt,
                "answer_length": protocol.answer_length if s.answer_length is None else s.answer_length,
                "steps": s.steps, "text_window": TEXT_WINDOW}

    def build_request(self, sample: Sample, seed: int) -> AnswerRequest:
        e = self.effective()
        return AnswerRequest(id=sample.id, image=self.image(sample), prompt=e["prompt_template"].format(question=self.question(sample)),
                             seed=seed, steps=e["steps"], answer_length=e["answer_length"])

    def config(self) -> dict:
        return {**super().config(), **self.effective(), **self.scoring()}

    def scoring(self) -> dict:
        """The named scoring rules in force (recorded with results)."""
        return {}


def with_answer_health(evaluation: Evaluation, records: Sequence[dict], unparsed: Optional[Sequence[bool]] = None) -> Evaluation:
    """Add the share of empty (and unreadable) answers, with a few examples in the notes.

    D-DiT's released checkpoint is known for frequent empty answers: every understanding task says how many.
    """
    from ddit_eval.metrics.answers import AnswerHealth

    health = AnswerHealth()  # a metric, so "fewer is better" rides with its numbers
    health.update([str(r["prediction"]) for r in records], [r["id"] for r in records], unparsed)
    return evaluation.plus(health)
