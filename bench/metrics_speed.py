"""Speed of VQA accuracy at VQAv2-val scale: 214,354 questions x 10 answers.

Synthetic strings mimic the real distribution: tens of thousands of distinct
answers with a Zipf-like frequency (heavy repetition of the common ones), mixed
case, punctuation, number words, articles, contractions and decimals.  Target:
under 10 s on a 2-core CPU.  Run: `python bench/metrics_speed.py`.
"""

from __future__ import annotations

import itertools
import random
import time

from ddit_eval.metrics.vqa import VQAAccuracy

NUM_QUESTIONS = 214_354


def synthetic_answers(rng: random.Random, n_distinct: int = 50_000) -> list[str]:
    """`n_distinct` different answer strings, the most common first."""
    words = ["red", "blue", "dog", "two", "Yes", "no", "the cat", "a man", "10.5", "2.", "1,000", "isnt",
             "tennis", "left", "frisbee", "white!", "(kitchen)", "don't", "3 people", "an apple"]
    words += ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))) for _ in range(2000)]
    pool = ["yes", "no", "2", "1", "3"]
    seen = set(pool)
    while len(pool) < n_distinct:
        answer = " ".join(rng.choice(words) for _ in range(rng.randint(1, 3)))
        if answer not in seen:
            seen.add(answer)
            pool.append(answer)
    return pool


def make_data(seed: int = 0):
    rng = random.Random(seed)
    pool = synthetic_answers(rng)
    weights = list(itertools.accumulate(1.0 / (i + 1) for i in range(len(pool))))  # Zipf-like
    predictions, answers, types = [], [], []
    for _ in range(NUM_QUESTIONS):
        main = rng.choices(pool, cum_weights=weights)[0]
        refs = [main if rng.random() < 0.7 else rng.choices(pool, cum_weights=weights)[0] for _ in range(10)]
        answers.append(refs)
        predictions.append(main if rng.random() < 0.6 else rng.choices(pool, cum_weights=weights)[0])
        types.append(rng.choice(["yes/no", "number", "other"]))
    return predictions, answers, types


def main() -> None:
    predictions, answers, types = make_data()
    start = time.perf_counter()
    metric = VQAAccuracy()
    metric.update(predictions, answers, types)
    result = metric.compute()
    seconds = time.perf_counter() - start
    distinct = len({a for refs in answers for a in refs} | set(predictions))
    print(f"VQA accuracy over {NUM_QUESTIONS:,} questions x 10 answers ({distinct:,} distinct strings): "
          f"{seconds:.2f} s (accuracy {result['accuracy']:.2f}; target < 10 s)")


if __name__ == "__main__":
    main()
