"""GQA accuracy and the official extras that the hub's question rows make possible.

A question scores 1 when the (rule-processed) prediction equals the answer.  Rules
(`GQA_RULES`), named after whose convention they are:
- `llava` (default; what most VLM papers of the D-DiT table report): LLaVA's answers
  file holds stripped model output; `scripts/convert_gqa_for_eval.py` then does
  `text.rstrip('.').lower()` -- every trailing period goes, not only one -- and the
  official `eval.py` compares with the answer exactly;
- `official` (Stanford `eval.py` as is): the raw prediction string must equal the answer;
- `lmms_eval` (lmms-eval's `exact_match` with ignore_case and ignore_punctuation): both
  prediction and answer are lowercased, every character of `string.punctuation` is
  deleted, then whitespace is stripped and inner runs collapse to one space; equal
  strings match.  (lmms-eval's metric itself neither strips nor collapses; its model
  adapters strip the output, and inner runs of spaces do not occur in GQA answers.)

Extras follow the official `eval.py` (gqadataset.org; LLaVA's `gqa.sh` expects it at
`playground/data/eval/gqa/data/eval/eval.py`), computed only when the `extras` rows
carry the fields they need:
- `accuracy_binary` / `accuracy_open`: open means `types.structural == "query"`; every
  other structural type (verify, logical, choose, compare) is binary;
- `accuracy_structural_<t>`, `accuracy_semantic_<t>` from `types`;
- `accuracy_steps_<n>`: n = number of `semantic` steps whose "operation: argument" text
  contains none of "exist", "query: name", "choose name" (eval.py's `getStepsNum`);
- `accuracy_words_<n>`: n = words of the question (`question` field);
- `consistency`: for each correctly answered question, the accuracy over its `entailed`
  questions (itself excluded) and averaged over those questions.  The official run asks
  for predictions on every question of `*_all_questions.json`; here only entailed
  questions inside the evaluated set count, and a question with none there is skipped;
  when rows carry `entailed` but no question is left to average, it is None (0/0,
  undefined; `notes()` says why), not 0;
- `distribution`: eval.py's chi-square of the predicted vs gold answer counts per
  `groups.global` (group-size weighted mean of sum((o-e)^2/e), divided by 100);
  LOWER is better.  It needs nothing beyond the evaluated rows.
Validity and plausibility need the `*_choices.json` file, which the hub data lacks:
they are not computed (`config()["not_computed"]`).  eval.py scores only
`isBalanced` questions; testdev_balanced holds only those, so no filter is applied.
"""

from __future__ import annotations

import string
from collections import defaultdict
from typing import Any, Callable, Mapping, Optional, Sequence

from .base import Metric, check_same_length, choose
from .vqa import _key

_PUNCTUATION = str.maketrans("", "", string.punctuation)
_NOT_A_STEP = ("exist", "query: name", "choose name")


def _llava(prediction: str, answer: str) -> tuple[str, str]:
    return prediction.strip().rstrip(".").lower(), answer


def _official(prediction: str, answer: str) -> tuple[str, str]:
    return prediction, answer


def _lmms_eval_form(text: str) -> str:
    """lowercase, delete string.punctuation, strip, collapse whitespace."""
    return " ".join(text.lower().translate(_PUNCTUATION).split())


def _lmms_eval(prediction: str, answer: str) -> tuple[str, str]:
    return _lmms_eval_form(prediction), _lmms_eval_form(answer)


# Each rule maps (prediction, answer) to the two strings that must be equal.
GQA_RULES: dict[str, Callable[[str, str], tuple[str, str]]] = {
    "llava": _llava, "official": _official, "lmms_eval": _lmms_eval}


def gqa_match(prediction: str, answer: str, rule: str = "llava") -> bool:
    """Exact match of one prediction under a named rule."""
    pred, gold = GQA_RULES[choose("GQA rule", rule, GQA_RULES)](prediction, answer)
    return pred == gold


def steps_number(semantic: Sequence[Any]) -> int:
    """eval.py's reasoning length: the final 'querying' steps do not add reasoning."""
    def text(step: Any) -> str:
        if isinstance(step, Mapping):
            return f"{step.get('operation', '')}: {step.get('argument', '')}"
        return str(step)
    return sum(1 for step in semantic if not any(o in text(step) for o in _NOT_A_STEP))


def _mean100(values: Sequence[float]) -> float:
    return 100.0 * sum(values) / len(values)


def _grouped(keys: Sequence[Any], correct: Sequence[bool], prefix: str) -> dict[str, float]:
    """Accuracy per key value, skipping rows without one (None)."""
    groups: dict[Any, list[bool]] = defaultdict(list)
    for k, ok in zip(keys, correct):
        if k is not None:
            groups[k].append(ok)
    return {f"{prefix}{_key(str(k))}": _mean100(v) for k, v in sorted(groups.items())}


def chi_square(gold: Sequence[str], predicted: Sequence[str], groups: Sequence[Optional[str]]) -> Optional[float]:
    """eval.py's distribution score (before its /100), or None with no grouped question."""
    gold_counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    pred_counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for g, p, grp in zip(gold, predicted, groups):
        if grp:
            gold_counts[grp][g] += 1
            pred_counts[grp][p] += 1
    weighted, total = 0.0, 0
    for grp, expected in gold_counts.items():
        score = sum((pred_counts[grp].get(a, 0) - e) ** 2 / e for a, e in expected.items())
        overall = sum(expected.values())
        weighted, total = weighted + score * overall, total + overall
    return weighted / total if total else None


class GQAAccuracy(Metric):
    """GQA exact-match accuracy x100 under a named rule, plus the official extras the rows allow.

    >>> m = GQAAccuracy()
    >>> m.update(["Left.", "no"], ["left", "yes"])
    >>> m.compute()
    {'accuracy': 50.0}
    """


    lower_is_better = frozenset({"distribution"})  # the official distance of the answer distributions

    def __init__(self, rule: str = "llava") -> None:
        super().__init__()
        self.rule = choose("GQA rule", rule, GQA_RULES)
        self.add_state("correct", [])
        self.add_state("compared", [])  # (prediction, answer) as the rule compares them
        self.add_state("extras", [])

    def update(self, predictions: Sequence[str], answers: Sequence[str],
               extras: Optional[Sequence[Mapping[str, Any]]] = None) -> None:
        check_same_length(predictions=predictions, answers=answers, extras=extras)
        pairs = [GQA_RULES[self.rule](p, a) for p, a in zip(predictions, answers)]
        self.compared.extend(pairs)
        self.correct.extend(p == g for p, g in pairs)
        self.extras.extend(extras if extras is not None else [{}] * len(predictions))

    def compute(self) -> dict[str, Optional[float]]:
        if not self.correct:
            raise ValueError("GQAAccuracy.compute() called before any update()")
        out = {"accuracy": _mean100(self.correct)}
        out.update(self._type_scores())
        out.update(_grouped(self._column(_steps), self.correct, "accuracy_steps_"))
        out.update(_grouped(self._column(_words), self.correct, "accuracy_words_"))
        if any("entailed" in e for e in self.extras):
            out["consistency"] = self._consistency()
        distribution = chi_square([g for _, g in self.compared], [p for p, _ in self.compared],
                                  self._column(lambda e: (e.get("groups") or {}).get("global")))
        if distribution is not None:
            out["distribution"] = distribution / 100
        return out

    def _column(self, get: Callable[[Mapping[str, Any]], Any]) -> list[Any]:
        return [get(e) for e in self.extras]

    def _type_scores(self) -> dict[str, float]:
        """Binary/open and per structural/semantic type, from the `types` field."""
        structural = self._column(lambda e: (e.get("types") or {}).get("structural"))
        semantic = self._column(lambda e: (e.get("types") or {}).get("semantic"))
        kind = [None if s is None else "open" if s == "query" else "binary" for s in structural]
        out = {f"accuracy_{k}": v for k, v in _grouped(kind, self.correct, "").items()}
        out.update(_grouped(structural, self.correct, "accuracy_structural_"))
        out.update(_grouped(semantic, self.correct, "accuracy_semantic_"))
        return out

    def _consistency(self) -> Optional[float]:
        """Mean, over correct questions with evaluated entailed questions, of their accuracy."""
        where = {e["id"]: i for i, e in enumerate(self.extras) if e.get("id") is not None}
        scores = []
        for i, e in enumerate(self.extras):
            if not self.correct[i] or not e.get("entailed"):
                continue
            inside = [where[q] for q in e["entailed"] if q != e.get("id") and q in where]
            if inside:
                scores.append(sum(self.correct[j] for j in inside) / len(inside))
        return _mean100(scores) if scores else None

    def notes(self) -> list[str]:
        """Consistency over no question is undefined: say so beside the None."""
        out = self.compute() if self.correct else {}
        if "consistency" in out and out["consistency"] is None:
            return ["consistency undefined: no correctly answered question has an entailed question "
                    "among the evaluated ones"]
        return []

    def per_sample(self) -> list[dict[str, float]]:
        return [{"accuracy": 100.0 * ok} for ok in self.correct]

    def config(self) -> dict:
        return {"metric": "gqa_accuracy", "rule": self.rule, "extras": self._extras_computed(),
                "consistency_scope": "entailed questions inside the evaluated set",
                "not_computed": {"validity": "needs the choices file", "plausibility": "needs the choices file"}}

    def _extras_computed(self) -> list[str]:
        """Which official extras the rows allowed (config is recorded with results)."""
        if not self.correct:
            return []
        present = {k.split("_")[1] if k.startswith("accuracy_") else k for k, v in self.compute().items() if v is not None}
        names = {"binary": "binary_open", "open": "binary_open", "structural": "structural_type", "semantic": "semantic_type",
                 "steps": "steps", "words": "words", "consistency": "consistency", "distribution": "distribution"}
        return sorted({v for k, v in names.items() if k in present})


def _steps(extra: Mapping[str, Any]) -> Optional[int]:
    semantic = extra.get("semantic")
    return None if semantic is None else steps_number(semantic)


def _words(extra: Mapping[str, Any]) -> Optional[int]:
    question = extra.get("question")
    return None if question is None else len(question.split())
