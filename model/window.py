"""Fitting answer rows into the model's text window, and saying when a request did not fit.

A row holds the prompt, then masked positions for the answer, `text_window` positions at most.
A task sized for the released model (128) may ask a smaller model (the tiny one's 40 or 48) for
more; the row is then clamped as before, and `ClampLog` keeps what it takes to say so once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence


@dataclass(frozen=True)
class AnswerFit:
    """An answer request's row: `prompt` ids kept, `total` positions in all, `need` asked for."""

    prompt: tuple[int, ...]
    total: int
    need: int


def fit_answer(prompt_ids: Sequence[int], answer_length: Optional[int], window: int) -> AnswerFit:
    """The row of a prompt (its ids, untruncated, without `</s>`) and answer length (None: the rest of
    the window).  The prompt keeps its first `window - 1` ids, as the tokenizer truncates (T5 counts
    the `</s>` that answers drop); the row ends at the window.  `need`: the whole prompt and the
    answer length, or one answer position when the answer takes the rest of the window."""
    prompt = tuple(prompt_ids[:window - 1])
    total = window if answer_length is None else min(window, len(prompt) + answer_length)
    return AnswerFit(prompt, total, len(prompt_ids) + (1 if answer_length is None else answer_length))


class ClampLog:
    """Answer rows asked for more positions than the window, since the last `take_notes`."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.clamped = self.answers = self.most = 0

    def record(self, fits: Sequence[AnswerFit]) -> None:
        over = [f.need for f in fits if f.need > self.window]
        self.answers += len(fits)
        self.clamped += len(over)
        self.most = max([self.most, *over])

    def take_notes(self) -> list[str]:
        """One line for the run's notes when some row was clamped; the log then starts again."""
        notes = []
        if self.clamped:
            some = "every answer" if self.clamped == self.answers else f"{self.clamped} of {self.answers} answers"
            up_to = "" if self.clamped == 1 else "up to "
            notes.append(f"prompt + answer need {up_to}{self.most} tokens; the model's text window is {self.window}: "
                         f"clamped ({some})")
        self.clamped = self.answers = self.most = 0
        return notes
