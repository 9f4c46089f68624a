"""VQA accuracy (VQAv2, VizWiz, OK-VQA) exactly as the official `vqaEval.py` defines it.

Normalisation (see ../shared/spec/understanding-benchmarks.md):
1. newline/tab -> space, strip (always, prediction and every reference);
2. punctuation: each of 21 characters is deleted when the ORIGINAL text has
   "p " or " p" or a digit,digit pattern, else replaced by a space;
3. periods are removed unless a digit follows ("2." -> "2", "10.5" kept), at most 32
   (the official regex is a lookahead typo and `re.sub` gets count=re.UNICODE=32);
4. lowercase, split, number words -> digits, drop a/an/the, contraction table.
Steps 2-4 run only when the 10 references are not all identical (the official
rule, `rule="official"`); lmms-eval and the D-DiT script always run them
(`rule="always-normalise"`).  Score of a question = mean over the 10
leave-one-out subsets of min(1, matches/3), reported x100.

Normalisation is memoised: benchmark answers repeat a lot, so scoring 214k
questions costs a few dictionary look-ups per answer.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Mapping, Optional, Sequence, Union

from .base import Metric, check_same_length, choose

RULES = ("official", "always-normalise")


@lru_cache(maxsize=1)
def tables() -> dict:
    """The official tables (punctuation, number words, articles, contractions) as package data."""
    return json.loads(resources.files(__package__).joinpath("vqa_tables.json").read_text())


_COMMA_NUMBER = re.compile(r"(\d)(,)(\d)")
# The official pattern, typo included: "(?!<=\d)" is a lookahead that never blocks.
_PERIOD = re.compile(r"(?!<=\d)(\.)(?!\d)")
_MAX_PERIODS = re.UNICODE.value  # count=re.UNICODE in the official call: 32


def clean_whitespace(text: str) -> str:
    """Step 1, applied to every answer whatever the rule."""
    return text.replace("\n", " ").replace("\t", " ").strip()


def process_punctuation(text: str) -> str:
    """Step 2 and 3: the punctuation rule (tested on the original text) and the period strip."""
    delete = _COMMA_NUMBER.search(text) is not None
    out = text
    for p in tables()["punctuation"]:
        if delete or (p + " ") in text or (" " + p) in text:
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    return _PERIOD.sub("", out, count=_MAX_PERIODS)


def process_digit_article(text: str) -> str:
    """Step 4: lowercase, number words to digits, drop articles, contraction table."""
    t = tables()
    numbers, articles, contractions = t["number_words"], set(t["articles"]), t["contractions"]
    words = [numbers.get(w, w) for w in text.lower().split()]
    words = [contractions.get(w, w) for w in words if w not in articles]
    return " ".join(words)


_NORMALISED: dict[str, str] = {}


def normalize_answer(text: str) -> str:
    """Steps 2-4 on a whitespace-cleaned answer (memoised)."""
    out = _NORMALISED.get(text)
    if out is None:
        out = _NORMALISED[text] = process_digit_article(process_punctuation(text))
    return out


def _loo_accuracy(pred: str, refs: Sequence[str]) -> float:
    """Mean over leave-one-out subsets of min(1, matches/3), in closed form.

    Removing a matching reference leaves m-1 matches, removing another leaves m.
    """
    n = len(refs)
    m = sum(1 for r in refs if r == pred)
    return (m * min(1.0, (m - 1) / 3) + (n - m) * min(1.0, m / 3)) / n


def answer_texts(answers: Sequence[Union[str, Mapping]]) -> list[str]:
    """Reference strings from VizWiz/OK-VQA-style strings or VQAv2-style {answer, answer_confidence, answer_id}."""
    return [a if isinstance(a, str) else a["answer"] for a in answers]


def vqa_accuracy(prediction: str, answers: Sequence[Union[str, Mapping]], rule: str = "official") -> float:
    """Accuracy of one prediction against its (usually 10) human answers, in 0..1.

    `answers` are strings or VQAv2 answer dicts; a question's answers are told
    apart by position (the official leave-one-out removes one answer record, not
    every answer with the same text).
    """
    if not answers:
        raise ValueError("a VQA question needs at least one reference answer")
    pred = clean_whitespace(prediction)
    refs = [clean_whitespace(a) for a in answer_texts(answers)]
    if rule == "always-normalise" or len(set(refs)) > 1:
        pred = normalize_answer(pred)
        refs = [normalize_answer(r) for r in refs]
    return _loo_accuracy(pred, refs)


class VQAAccuracy(Metric):
    """Official VQA accuracy x100, overall and per answer type.

    "Two" is normalised to "2"; of the 10 leave-one-out subsets, the 3 without a "2" hold 2 matches
    (2/3) and the other 7 hold 3 (1): (3 * 2/3 + 7) / 10 = 0.9.

    >>> m = VQAAccuracy()
    >>> m.update(["Two"], [["2"] * 3 + ["3"] * 7], ["number"])
    >>> m.compute()
    {'accuracy': 90.0, 'accuracy_number': 90.0}
    """

    def __init__(self, rule: str = "official") -> None:
        super().__init__()
        self.rule = choose("VQA rule", rule, RULES)
        self.add_state("scores", [])
        self.add_state("answer_types", [])

    def update(self, predictions: Sequence[str], answers: Sequence[Sequence[Union[str, Mapping]]],
               answer_types: Optional[Sequence[str]] = None) -> None:
        check_same_length(predictions=predictions, answers=answers, answer_types=answer_types)
        self.scores.extend(vqa_accuracy(p, a, self.rule) for p, a in zip(predictions, answers))
        self.answer_types.extend(answer_types if answer_types is not None else [None] * len(predictions))

    def compute(self) -> dict[str, float]:
        if not self.scores:
            raise ValueError("VQAAccuracy.compute() called before any update()")
        out = {"accuracy": 100.0 * sum(self.scores) / len(self.scores)}
        for kind in sorted({t for t in self.answer_types if t is not None}):
            group = [s for s, t in zip(self.scores, self.answer_types) if t == kind]
            out[f"accuracy_{_key(kind)}"] = 100.0 * sum(group) / len(group)
        return out

    def per_sample(self) -> list[dict[str, float]]:
        return [{"accuracy": 100.0 * s} for s in self.scores]

    def config(self) -> dict:
        return {"metric": "vqa_accuracy", "rule": self.rule}


def _key(answer_type: str) -> str:
    """'yes/no' -> 'yes_no': metric names stay usable as file names and columns."""
    return re.sub(r"[^A-Za-z0-9]+", "_", answer_type).strip("_")
