"""The answerer's prompt, and the in-context examples it shows.

A prompt is the instruction, then k solved examples, then the question, each as
"Caption / Question / Answer" lines; the captions are the probe decoder's own, so examples
and query read alike.  The examples come from a pool of questions drawn once with the run
seed; each query draws its k from the pool with a seed of (run seed, question id), never a
question about the query's own image.  Examples' answers are VQAv2's `multiple_choice_answer`
(the most common human answer).
"""

from __future__ import annotations

import random
from typing import Sequence

from ddit_eval.seeding import sample_seed

INSTRUCTION = ("Answer the question about an image using only its caption. "
               "Answer with a single word or phrase.")
EXAMPLE = "Caption: {caption}\nQuestion: {question}\nAnswer: {answer}"
QUERY = "Caption: {caption}\nQuestion: {question}\nAnswer:"


def templates() -> dict:
    return {"instruction": INSTRUCTION, "example": EXAMPLE, "query": QUERY, "joined_by": "\\n\\n"}


def build_prompt(caption: str, question: str, examples: Sequence[dict]) -> str:
    """`examples`: dicts with caption, question and answer."""
    parts = [INSTRUCTION, *(EXAMPLE.format(**e) for e in examples), QUERY.format(caption=caption, question=question)]
    return "\n\n".join(parts)


def draw_pool(rows: int, size: int, seed: int) -> list[int]:
    """`size` row indices of a split of `rows` questions, drawn with the run seed, in split order."""
    rng = random.Random(sample_seed(seed, "feature-probe/pool", str(rows)))
    return sorted(rng.sample(range(rows), min(size, rows)))


def draw_examples(pool: Sequence[dict], question_id: str, image_key: str, shots: int, seed: int) -> list[dict]:
    """`shots` pool entries (dicts with id and image_key) for one query, never about its image."""
    if shots == 0:
        return []
    candidates = [p for p in pool if p["image_key"] != image_key and p["id"] != question_id]
    if len(candidates) < shots:
        raise ValueError(f"only {len(candidates)} pool questions about other images for {shots} shots")
    return random.Random(sample_seed(seed, "feature-probe/shots", question_id)).sample(candidates, shots)
