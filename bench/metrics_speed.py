"""Speed of VQA accuracy at VQAv2-val scale: 214,354 questions x 10 answers.

Synthetic strings mimic the real distribution: a few thousand distinct answers,
heavy repetition, mixed case, punctuation, number words and articles.  Target:
under 10 s on a 2-core CPU.  Run: `python bench/metrics_speed.py`.
"""

from __future__ import annotations

import itertools
import random
import time

from ddit_eval.metrics.vqa import VQAAccuracy

NUM_QUESTIONS = 214_354


def synthetic_answers(rng: random.Random, n_distinct: int = 5000) -> list[str]:
    words = ["red", "blue", "dog", "two", "Yes", "no", "the cat", "a man", "10.5", "2.", "1,000", "isnt",
             "tennis", "left", "frisbee", "white!", "(kitchen)", "don't", "3 people", "an apple"]
    pool = ["yes", "no", "2", "1", "3"]
    while len(pool) < n_distinct:
        pool.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 3))))
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
    print(f"VQA accuracy over {NUM_QUESTIONS:,} questions x 10 answers: {seconds:.2f} s "
          f"(accuracy {result['accuracy']:.2f}; target < 10 s)")


if __name__ == "__main__":
    main()
