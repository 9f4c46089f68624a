"""Yes/no benchmarks: POPE (accuracy, precision, recall, F1, yes-ratio) and MME (acc, acc+, scores).

Parse rules turn a free-text answer into "yes", "no" or "other"; each is named after
whose rule it is (checked against the official files):
- `pope` (PopeMetrics default; RUCAIBox/POPE `evaluate.py`): keep the text before the
  first '.', drop commas, split on single spaces; any word exactly "No", "not" or "no"
  means "no", anything else "yes" (so "NO", "no!" and "(no)" read as "yes");
- `ddit_vqa` (the D-DiT VQA script's POPE branch): first the official VQA answer
  processing (`vqa.clean_whitespace` then `vqa.normalize_answer`: punctuation, periods,
  lowercase, number words, articles, contractions), then the `pope` word rule;
- `mme` (MMEScore default; MME's official `calculation.py`): lowercase only (no strip,
  periods kept, no y/n shortcut); exactly "yes"/"no", else "yes" if "yes" is in the first
  4 characters, else "no" if "no" is, else "other";
- `lmms_eval_mme` (alias `lmms_eval`, the name older results carry; lmms-eval's MME
  parser): lowercase, strip, drop periods; exact "yes"/"no", or "y"/"n", or "yes"/"no"
  inside the first 4 characters, else "other";
- `exact` (alias `lmms_eval_pope`; lmms-eval's POPE): the lowercased, stripped text
  must be "yes" or "no", else "other".
There is no rule called `ddit`: that name used to label the `pope` rule.

An "other" answer is wrong, and counts as a negative prediction: on a "yes" question
it is a false negative (lmms-eval's POPE recall leaves it out of the denominator).
POPE's yes-ratio counts the PREDICTIONS (the original definition; lmms-eval counts
the ground truth).  A ratio with an empty denominator is undefined (None, with a line
in `notes()`), never 0: precision with no "yes" predicted (POPE's script divides by
zero there), recall with no "yes" question, and F1 whenever either is undefined.
Numbers are percentages (0..100); MME category scores are acc + acc+ (0..200) and
perception/cognition sum them over the official lists (None when the data holds none
of a list's categories: a sum of nothing was never measured).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable, Optional, Sequence

from .base import Metric, check_same_length, choose, ratio
from .vqa import clean_whitespace, normalize_answer

PERCEPTION = ("existence", "count", "position", "color", "posters", "celebrity", "scene", "landmark", "artwork", "OCR")
COGNITION = ("commonsense_reasoning", "numerical_calculation", "text_translation", "code_reasoning")

# POPE's word lists: "no" words as in its evaluate.py; "yes" words only matter for `is_unparsed`.
_NO_WORDS = frozenset(("No", "not", "no"))
_YES_WORDS = frozenset(("Yes", "yes"))


def _pope_words(text: str) -> list[str]:
    """POPE's preprocessing: first sentence, commas dropped, split on single spaces."""
    return text.split(".")[0].replace(",", "").split(" ")


def _ddit_vqa_words(text: str) -> list[str]:
    """The D-DiT script normalises like a VQA answer before POPE's word split."""
    return _pope_words(normalize_answer(clean_whitespace(text)))


def _word_rule(words: list[str]) -> str:
    """POPE's decision: any no-word wins, and everything else (even nothing) is 'yes'."""
    return "no" if any(w in _NO_WORDS for w in words) else "yes"


def _parse_pope(text: str) -> str:
    return _word_rule(_pope_words(text))


def _parse_ddit_vqa(text: str) -> str:
    return _word_rule(_ddit_vqa_words(text))


def _first_four(text: str) -> str:
    """The MME family's fallback: look for 'yes', then 'no', in the first 4 characters."""
    head = text[:4]
    return "yes" if "yes" in head else "no" if "no" in head else "other"


def _parse_mme(text: str) -> str:
    text = text.lower()
    return text if text in ("yes", "no") else _first_four(text)


def _parse_lmms_eval_mme(text: str) -> str:
    text = text.lower().strip().replace(".", "")
    if text in ("yes", "no"):
        return text
    if len(text) == 1:
        return {"y": "yes", "n": "no"}.get(text, "other")
    return _first_four(text)


def _parse_exact(text: str) -> str:
    text = text.lower().strip()
    return text if text in ("yes", "no") else "other"


PARSE_RULES: dict[str, Callable[[str], str]] = {
    "pope": _parse_pope, "ddit_vqa": _parse_ddit_vqa, "mme": _parse_mme,
    "lmms_eval_mme": _parse_lmms_eval_mme, "exact": _parse_exact,
    "lmms_eval_pope": _parse_exact, "lmms_eval": _parse_lmms_eval_mme}

# Rules that never answer "other": for them "unparsed" means the default "yes" was taken.
_WORD_RULES: dict[str, Callable[[str], list[str]]] = {"pope": _pope_words, "ddit_vqa": _ddit_vqa_words}


def parse_yes_no(text: str, rule: str = "pope") -> str:
    """'yes', 'no' or 'other' (the `pope` and `ddit_vqa` rules never give 'other')."""
    return PARSE_RULES[choose("yes/no parse rule", rule, PARSE_RULES)](text)


def is_unparsed(text: str, rule: str) -> bool:
    """True when `text` holds no yes/no decision that `rule` actually read.

    For the rules that can say "other" (mme, lmms_eval_mme, exact and aliases) that is
    exactly a parse of "other".  `pope` and `ddit_vqa` never say "other": they default
    to "yes", so for them an answer is unparsed when its words, after that rule's own
    preprocessing, contain neither a yes-word ("yes"/"Yes") nor a no-word ("No", "not",
    "no") -- e.g. "", "y", "noted", "NO" under `pope`.  Counting these shows how much of
    a POPE score comes from the default rather than from the model.
    """
    words_of = _WORD_RULES.get(choose("yes/no parse rule", rule, PARSE_RULES))
    if words_of is None:
        return PARSE_RULES[rule](text) == "other"
    return not any(w in _YES_WORDS or w in _NO_WORDS for w in words_of(text))


def _gold(answer: str) -> str:
    gold = answer.strip().lower()
    if gold not in ("yes", "no"):
        raise ValueError(f"a yes/no reference must be 'yes' or 'no', got {answer!r}")
    return gold


def binary_scores(parsed: Sequence[str], gold: Sequence[str]) -> dict[str, Optional[float]]:
    """Accuracy, precision, recall, F1 with "yes" positive, and the predictions' yes-ratio (all in %).

    A ratio with an empty denominator (no "yes" predicted, no "yes" question) is None, not an
    error and not 0: an all-"no" model is a real outcome that POPE's own script crashes on,
    and its precision was never measured.  F1 is undefined when precision or recall is.
    """
    tp = sum(p == "yes" and g == "yes" for p, g in zip(parsed, gold))
    fp = sum(p == "yes" and g == "no" for p, g in zip(parsed, gold))
    fn = sum(p != "yes" and g == "yes" for p, g in zip(parsed, gold))
    correct = sum(p == g for p, g in zip(parsed, gold))
    precision, recall = ratio(tp, tp + fp, 1.0), ratio(tp, tp + fn, 1.0)  # fractions first: the same bits as before
    f1 = None if precision is None or recall is None else (
        2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    n = len(gold)
    return {"accuracy": ratio(correct, n), "precision": _percent(precision), "recall": _percent(recall),
            "f1": _percent(f1), "yes_ratio": ratio(sum(p == "yes" for p in parsed), n)}


def _percent(fraction: Optional[float]) -> Optional[float]:
    return None if fraction is None else 100.0 * fraction


def _undefined_binary(scores: dict[str, Optional[float]], prefix: str = "") -> list[str]:
    """Why `binary_scores` left numbers undefined, one line per cause."""
    if scores.get(f"{prefix}accuracy", 0) is None:
        return [f"{prefix}scores undefined: no answers"]
    causes = ((f"{prefix}precision", "no 'yes' answers"), (f"{prefix}recall", "no 'yes' questions"))
    return [f"{name} undefined: {why} (F1 too)" for name, why in causes if name in scores and scores[name] is None]


class PopeMetrics(Metric):
    """POPE per split (random/popular/adversarial) and over all questions; default rule: POPE's own."""


    def __init__(self, parse_rule: str = "pope") -> None:
        super().__init__()
        self.parse_rule = choose("yes/no parse rule", parse_rule, PARSE_RULES)
        self.add_state("parsed", [])
        self.add_state("gold", [])
        self.add_state("splits", [])

    def update(self, predictions: Sequence[str], answers: Sequence[str], splits: Optional[Sequence[str]] = None) -> None:
        check_same_length(predictions=predictions, answers=answers, splits=splits)
        self.parsed.extend(parse_yes_no(p, self.parse_rule) for p in predictions)
        self.gold.extend(_gold(a) for a in answers)
        self.splits.extend(splits if splits is not None else [None] * len(predictions))

    def compute(self) -> dict[str, Optional[float]]:
        if not self.gold:
            raise ValueError("PopeMetrics.compute() called before any update()")
        out = binary_scores(self.parsed, self.gold)
        for split in self._split_names():
            rows = [i for i, s in enumerate(self.splits) if s == split]
            scores = binary_scores([self.parsed[i] for i in rows], [self.gold[i] for i in rows])
            out.update({f"{split}_{k}": v for k, v in scores.items()})
        return out

    def _split_names(self) -> list[str]:
        return sorted({s for s in self.splits if s is not None})

    def notes(self) -> list[str]:
        """e.g. "precision undefined: no 'yes' answers (F1 too)", overall first, then per split."""
        if not self.gold:
            return []
        out = self.compute()
        return [line for prefix in ["", *(f"{s}_" for s in self._split_names())]
                for line in _undefined_binary(out, prefix)]

    def per_sample(self) -> list[dict[str, float]]:
        return [{"accuracy": 100.0 * (p == g)} for p, g in zip(self.parsed, self.gold)]

    def config(self) -> dict:
        return {"metric": "pope", "parse_rule": self.parse_rule, "positive": "yes", "yes_ratio_of": "predictions"}


class MMEScore(Metric):
    """MME: per category acc and acc+ (all questions of an image right), score = acc + acc+.

    The default parse rule is MME's own `calculation.py` (`mme`).  `perception` and
    `cognition` sum the category scores over the official lists (categories absent
    from the data add nothing; `categories_scored` says how many were there); with
    none of a list's categories in the data the sum is None, not 0.
    """


    def __init__(self, parse_rule: str = "mme") -> None:
        super().__init__()
        self.parse_rule = choose("yes/no parse rule", parse_rule, PARSE_RULES)
        self.add_state("correct", [])
        self.add_state("categories", [])
        self.add_state("images", [])

    def update(self, predictions: Sequence[str], answers: Sequence[str], categories: Sequence[str],
               image_ids: Sequence[str]) -> None:
        check_same_length(predictions=predictions, answers=answers, categories=categories, image_ids=image_ids)
        self.correct.extend(parse_yes_no(p, self.parse_rule) == _gold(a) for p, a in zip(predictions, answers))
        self.categories.extend(categories)
        self.images.extend(image_ids)

    def compute(self) -> dict[str, Optional[float]]:
        if not self.correct:
            raise ValueError("MMEScore.compute() called before any update()")
        by_image: dict[tuple[str, str], list[bool]] = defaultdict(list)
        for ok, cat, img in zip(self.correct, self.categories, self.images):
            by_image[cat, img].append(ok)
        out: dict[str, float] = {"accuracy": 100.0 * sum(self.correct) / len(self.correct)}
        for cat in sorted(set(self.categories)):
            answers = [ok for ok, c in zip(self.correct, self.categories) if c == cat]
            images = [all(v) for (c, _), v in by_image.items() if c == cat]
            acc, acc_plus = 100.0 * sum(answers) / len(answers), 100.0 * sum(images) / len(images)
            out.update({f"{cat}_acc": acc, f"{cat}_acc_plus": acc_plus, f"{cat}_score": acc + acc_plus})
        for group, names in (("perception", PERCEPTION), ("cognition", COGNITION)):
            present = [c for c in names if f"{c}_score" in out]
            out[group] = sum(out[f"{c}_score"] for c in present) if present else None
            out[f"{group}_categories_scored"] = float(len(present))
        return out

    def notes(self) -> list[str]:
        """A group sum over no category is undefined; say which and why."""
        if not self.correct:
            return []
        out = self.compute()
        return [f"{group} undefined: no {group} category scored" for group in ("perception", "cognition")
                if out[group] is None]

    def per_sample(self) -> list[dict[str, float]]:
        return [{"accuracy": 100.0 * ok} for ok in self.correct]

    def config(self) -> dict:
        return {"metric": "mme", "parse_rule": self.parse_rule, "acc_plus": "all questions of an image right"}
