"""Text about scenes: captions, VQA items with 10 human-like answers, yes/no questions, an oracle.

Every answer set is built so that the canonical answer (what `answer_question`
returns) matches at least 6 of the 10 references after VQA normalisation, so
an oracle scores 100 under both VQA rules, while the other references carry
realistic variation ("two" / "2" / "2 shapes", "a circle", "top-left", ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .scenes import COLORS, KINDS, PLURALS, Scene, Shape

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five")
YES_NO_SUFFIX = " Please answer yes or no."


def article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _where(position: str) -> str:
    """Prepositional phrase of a grid position: 'in the top left', 'on the left', 'at the top'."""
    if position in ("left", "right"):
        return f"on the {position}"
    if position in ("top", "bottom"):
        return f"at the {position}"
    return f"in the {position}"


def _list(phrases: list[str]) -> str:
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]


def _object(shape: Shape) -> str:
    return f"{article(shape.color)} {shape.name}"


def describe(scene: Scene) -> str:
    """The canonical one-line description (the text-to-image prompt of a scene)."""
    return _list([f"{_object(s)} {_where(s.position)}" for s in scene.shapes])


def captions(scene: Scene) -> list[str]:
    """Five reference captions, COCO style (varied wording, same content)."""
    n = len(scene.shapes)
    objects = [_object(s) for s in scene.shapes]
    count = f"{NUMBER_WORDS[n]} shape{'s' if n > 1 else ''}"
    return [
        describe(scene),
        f"{count}: {_list(objects)}",
        f"{_list(objects)} on a gray background",
        f"there is {_list([f'{o} {_where(s.position)}' for o, s in zip(objects, scene.shapes)])}",
        f"a picture of {count}, {_list(objects[::-1])}",
    ]


@dataclass(frozen=True)
class VQAItem:
    question: str
    answers: tuple[str, ...]  # 10 human-like references
    answer_type: str  # "yes/no", "number" or "other" (VQAv2's types)
    canonical: str  # what an oracle should say


def _references(rng: np.random.Generator, same: list[str], other: list[str]) -> tuple[str, ...]:
    """10 references: 6-10 spellings of the canonical answer (same[0] at least 3 times), 0-4 others, shuffled."""
    n_other = int(rng.integers(0, 5)) if other else 0
    refs = [same[0]] * 3 + [same[int(i)] for i in rng.integers(0, len(same), 7 - n_other)]
    refs += [other[int(i)] for i in rng.integers(0, len(other), n_other)]
    return tuple(refs[int(i)] for i in rng.permutation(len(refs)))


def _count_answers(n: int) -> list[str]:
    same = [str(n), NUMBER_WORDS[n], NUMBER_WORDS[n].capitalize(), f"{n}."]
    return same + (["none", "zero."] if n == 0 else [])


def vqa_items(scene: Scene, rng: np.random.Generator) -> list[VQAItem]:
    """One item per question type for the scene (count, count by kind, color, shape, position, yes/no)."""
    target = scene.shapes[int(rng.integers(len(scene.shapes)))]
    n, kind = len(scene.shapes), KINDS[int(rng.integers(len(KINDS)))]
    k = scene.count(kind)
    near = [str(max(0, n - 1)), str(n + 1), f"{n} shape{'s' if n != 1 else ''}"]
    kind_other = [str(k + 1), f"no {PLURALS[kind]}" if k == 0 else f"{k} {PLURALS[kind]}"]
    pos_same = [target.position, target.position.replace(" ", "-"), f"the {target.position}", f"{target.position}."]
    pos_other = ["in the corner", f"{target.position} corner"] if " " in target.position else ["middle", "side"]
    other_color = [c for c in COLORS if c != target.color]
    absent = Shape(kind, str(rng.choice([c for c in COLORS if c not in {s.color for s in scene.shapes}])), 0)
    asked = target if rng.random() < 0.5 else absent
    exists = asked is target
    yes_no = "yes" if exists else "no"
    return [
        VQAItem("How many shapes are there?", _references(rng, _count_answers(n), near),
                "number", str(n)),
        VQAItem(f"How many {PLURALS[kind]} are there?", _references(rng, _count_answers(k), kind_other), "number", str(k)),
        VQAItem(f"What color is the {target.kind} {_where(target.position)}?",
                _references(rng, [target.color, target.color.capitalize(), f"{target.color}."],
                            [f"{article(target.color)} {target.color} one", f"dark {target.color}",
                             str(rng.choice(other_color))]),
                "other", target.color),
        VQAItem(f"What shape is the {target.color} object?",
                _references(rng, [target.kind, f"a {target.kind}", target.kind.capitalize(), f"the {target.kind}."],
                            [f"{target.kind}s", "shape", str(rng.choice([x for x in KINDS if x != target.kind]))]),
                "other", target.kind),
        VQAItem(f"Where is the {target.name}?", _references(rng, pos_same + [target.position.title()], pos_other),
                "other", target.position),
        VQAItem(f"Is there {_object(asked)}?", _references(rng, [yes_no, yes_no.capitalize(), f"{yes_no}."],
                                                           ["no" if exists else "yes"]), "yes/no", yes_no),
    ]


# --------------------------------------------------------------------------- yes/no questions


OBJECTS = tuple(f"{c} {k}" for c in COLORS for k in KINDS)  # the POPE vocabulary: colored shapes
POPE_SPLITS = ("random", "popular", "adversarial")


def existence_question(name: str) -> str:
    """POPE's template: 'Is there a red circle in the image?'"""
    return f"Is there {article(name)} {name} in the image?"


def absent_objects(scene: Scene) -> list[str]:
    names = {s.name for s in scene.shapes}
    return [o for o in OBJECTS if o not in names]


def pope_pairs(scene: Scene, split: str, rng: np.random.Generator, popularity: dict[str, int]) -> list[tuple[str, str]]:
    """One 'yes' and one 'no' existence question for a POPE split.

    Negatives: random = any absent colored shape; popular = the absent one most frequent in the
    data set (one of the 3 top `popularity` counts, ties by name); adversarial = a near miss, an absent object
    sharing the color or the kind of a present one (the shapes analogue of co-occurrence).
    """
    present = scene.shapes[int(rng.integers(len(scene.shapes)))].name
    absent = absent_objects(scene)
    if split == "random":
        negative = str(rng.choice(absent))
    elif split == "popular":
        negative = str(rng.choice(sorted(absent, key=lambda o: (-popularity.get(o, 0), o))[:3]))
    elif split == "adversarial":
        near = [o for o in absent if any(set(o.split()) & set(s.name.split()) for s in scene.shapes)]
        negative = str(rng.choice(near))
    else:
        raise ValueError(f"unknown POPE split {split!r}; known: {', '.join(POPE_SPLITS)}")
    return [(existence_question(present), "yes"), (existence_question(negative), "no")]


def mme_questions(scene: Scene, category: str, rng: np.random.Generator) -> list[tuple[str, str]]:
    """Two (question, answer) pairs for an image, MME style: one 'Yes', one 'No'.

    Categories: existence, count, color, position (position needs two shapes in different columns).
    """
    shapes = scene.shapes
    a = shapes[int(rng.integers(len(shapes)))]
    if category == "existence":
        absent = str(rng.choice(absent_objects(scene)))
        pairs = [(f"Is there {_object(a)} in this image?", "Yes"), (f"Is there {article(absent)} {absent} in this image?", "No")]
    elif category == "count":
        wrong = int(rng.choice([m for m in range(1, 5) if m != len(shapes)]))
        pairs = [(f"Are there {NUMBER_WORDS[len(shapes)]} shapes in this image?", "Yes"),
                 (f"Are there {NUMBER_WORDS[wrong]} shapes in this image?", "No")]
    elif category == "color":
        wrong = str(rng.choice([c for c in COLORS if c != a.color]))
        where = _where(a.position)
        pairs = [(f"Is the {a.kind} {where} {a.color}?", "Yes"), (f"Is the {a.kind} {where} {wrong}?", "No")]
    elif category == "position":
        left, right = _left_right_pair(scene, rng)
        pairs = [(f"Is the {left.name} to the left of the {right.name}?", "Yes"),
                 (f"Is the {left.name} to the right of the {right.name}?", "No")]
    else:
        raise ValueError(f"unknown MME category {category!r}")
    order = rng.permutation(2)
    return [(pairs[i][0] + YES_NO_SUFFIX, pairs[i][1]) for i in order]


def _left_right_pair(scene: Scene, rng: np.random.Generator) -> tuple[Shape, Shape]:
    pairs = [(p, q) for p in scene.shapes for q in scene.shapes if p.col < q.col]
    if not pairs:
        raise ValueError("a position question needs two shapes in different columns")
    return pairs[int(rng.integers(len(pairs)))]


def has_left_right_pair(scene: Scene) -> bool:
    return len({s.col for s in scene.shapes}) > 1


# --------------------------------------------------------------------------- oracle


_KIND = "|".join(KINDS)
_COLOR = "|".join(COLORS)
_PLURAL = {p: k for k, p in PLURALS.items()}


def answer_question(scene: Scene, question: str) -> str:
    """The correct short answer to any question this module asks (an oracle for tests and training)."""
    q = question.replace(YES_NO_SUFFIX, "").strip()
    by_name = {s.name: s for s in scene.shapes}
    if q == "How many shapes are there?":
        return str(len(scene.shapes))
    if m := re.fullmatch(r"How many (\w+) are there\?", q):
        return str(scene.count(_PLURAL[m[1]]))
    if m := re.fullmatch(rf"What color is the ({_KIND}) (?:in|on|at) the ([a-z ]+)\?", q):
        return next(s.color for s in scene.shapes if s.kind == m[1] and s.position == m[2])
    if m := re.fullmatch(rf"What shape is the ({_COLOR}) object\?", q):
        return next(s.kind for s in scene.shapes if s.color == m[1])
    if m := re.fullmatch(r"Where is the (\w+ \w+)\?", q):
        return by_name[m[1]].position
    if m := re.fullmatch(r"Is there an? (\w+ \w+)(?: in the image| in this image)?\?", q):
        return "yes" if m[1] in by_name else "no"
    if m := re.fullmatch(r"Are there (\w+) shapes in this image\?", q):
        return "yes" if NUMBER_WORDS.index(m[1]) == len(scene.shapes) else "no"
    if m := re.fullmatch(rf"Is the ({_KIND}) (?:in|on|at) the ([a-z ]+) ({_COLOR})\?", q):
        return "yes" if any(s.kind == m[1] and s.position == m[2] and s.color == m[3] for s in scene.shapes) else "no"
    if m := re.fullmatch(r"Is the (\w+ \w+) to the (left|right) of the (\w+ \w+)\?", q):
        a, b = by_name[m[1]], by_name[m[3]]
        return "yes" if (a.col < b.col if m[2] == "left" else a.col > b.col) else "no"
    raise ValueError(f"not a shapes-suite question: {question!r}")


__all__ = ["OBJECTS", "POPE_SPLITS", "VQAItem", "absent_objects", "answer_question", "article",
           "captions", "describe", "existence_question", "has_left_right_pair", "mme_questions", "pope_pairs",
           "vqa_items"]
