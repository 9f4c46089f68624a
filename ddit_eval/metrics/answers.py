"""Answer health: how many answers are empty or unreadable, with a few examples.

D-DiT's released checkpoint is known for frequent empty answers, and a parse rule
that defaults to "yes" (POPE's) hides them inside the score.  These two shares make
that visible next to the score instead of inside it.
"""

from __future__ import annotations

import re
from typing import Optional, Sequence

from .base import Metric, check_same_length, ratio

# T5 special tokens: a decode that keeps them can look non-empty while saying nothing.
_T5_SPECIAL = re.compile(r"</s>|<pad>|<unk>|<extra_id_\d+>")


def is_empty_answer(text: str) -> bool:
    """Empty after strip, once T5 special tokens ("</s>", "<pad>", "<extra_id_12>", ...) are removed."""
    return not _T5_SPECIAL.sub("", text).strip()


def _percent(flags: Sequence[bool]) -> Optional[float]:
    """Share of True in %; None for no answers (0 of 0 was never measured)."""
    return ratio(sum(flags), len(flags))


def _note(label: str, flags: Sequence[bool], ids: Sequence[str], texts: Sequence[str], examples: int) -> Optional[str]:
    """One line: count, share and up to `examples` (id, text) pairs; None when there are none."""
    hits = [i for i, flag in enumerate(flags) if flag]
    if not hits:
        return None
    line = f"{label}: {len(hits)} of {len(flags)} ({_percent(flags):.1f}%)"
    shown = ", ".join(f"{ids[i]}: {texts[i][:40]!r}" for i in hits[:max(examples, 0)])
    return f"{line}, e.g. {shown}" if shown else line


def answer_health(predictions: Sequence[str], unparsed: Optional[Sequence[bool]] = None, examples: int = 3,
                  ids: Optional[Sequence[object]] = None) -> tuple[dict[str, Optional[float]], list[str]]:
    """(metrics, notes) for a run's answers.

    metrics: `empty_answers` = % of predictions empty (see `is_empty_answer`), and when
    `unparsed` is given (e.g. from `yesno.is_unparsed`), `unparsed_answers` = % True
    (both None for no predictions).
    notes: one line per kind that occurred, naming up to `examples` answers by id
    (`ids`, else their position).
    """
    n = len(predictions)
    if unparsed is not None and len(unparsed) != n:
        raise ValueError(f"answer_health: {n} predictions but {len(unparsed)} unparsed flags")
    if ids is not None and len(ids) != n:
        raise ValueError(f"answer_health: {n} predictions but {len(ids)} ids")
    names = [str(i) for i in (ids if ids is not None else range(n))]
    empty = [is_empty_answer(p) for p in predictions]
    metrics = {"empty_answers": _percent(empty)}
    lines = [_note("empty answers", empty, names, predictions, examples)]
    if unparsed is not None:
        metrics["unparsed_answers"] = _percent([bool(u) for u in unparsed])
        lines.append(_note("unparsed answers", [bool(u) for u in unparsed], names, predictions, examples))
    return metrics, [line for line in lines if line is not None]


class AnswerHealth(Metric):
    """`answer_health` as a metric, so its shares carry their direction (fewer empty answers is better) into
    results and `compare`; it adds notes, no per-sample scores."""

    lower_is_better = frozenset({"empty_answers", "unparsed_answers"})

    def __init__(self, examples: int = 3) -> None:
        super().__init__()
        self.examples = examples
        self.add_state("predictions", [])
        self.add_state("ids", [])
        self.add_state("unparsed", None)

    def update(self, predictions: Sequence[str], ids: Sequence[object], unparsed: Optional[Sequence[bool]] = None) -> None:
        check_same_length(predictions=predictions, ids=ids, unparsed=unparsed)
        if (unparsed is None) != (self.unparsed is None) and self.predictions:
            raise ValueError("AnswerHealth.update: give unparsed flags with every batch or with none")
        self.predictions.extend(str(p) for p in predictions)
        self.ids.extend(ids)
        if unparsed is not None:
            self.unparsed = [*(self.unparsed or []), *(bool(u) for u in unparsed)]

    def _health(self) -> tuple[dict[str, Optional[float]], list[str]]:
        return answer_health(self.predictions, self.unparsed, self.examples, self.ids)

    def compute(self) -> dict[str, Optional[float]]:
        return self._health()[0]

    def notes(self) -> list[str]:
        return self._health()[1]

    def per_sample(self) -> list[dict[str, float]]:
        return [{} for _ in self.predictions]
