"""The request loader: order, errors and threads (results must not depend on the worker count)."""

import random
import threading
import time

import pytest

from ddit_eval.prefetch import prefetched_batches


def slow_square(x):
    time.sleep(random.Random(x).random() * 0.01)  # workers finish out of order
    return x * x, threading.current_thread().name


@pytest.mark.parametrize("workers", [0, 1, 4])
def test_batches_come_in_sample_order_whatever_the_workers(workers):
    batches = list(prefetched_batches(list(range(23)), slow_square, batch_size=5, workers=workers))
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    assert [v for b in batches for v, _ in b] == [x * x for x in range(23)]


def test_work_happens_off_the_callers_thread():
    names = {name for batch in prefetched_batches(list(range(8)), slow_square, batch_size=2, workers=2) for _, name in batch}
    assert names and all(n.startswith("ddit-loader") for n in names)


def test_builds_run_ahead_of_the_consumer():
    """While the consumer holds batch 0, later batches are already being built (bounded by the lookahead)."""
    started = []

    def build(x):
        started.append(x)
        return x

    batches = prefetched_batches(list(range(40)), build, batch_size=4, workers=2, lookahead=2)
    next(batches)
    time.sleep(0.2)
    assert 8 <= len(started) <= 12  # batch 0 plus up to two batches ahead, never the whole list
    batches.close()


def test_an_error_in_build_is_raised_to_the_consumer():
    def build(x):
        if x == 6:
            raise RuntimeError("bad item")
        return x

    with pytest.raises(RuntimeError, match="bad item"):
        list(prefetched_batches(list(range(10)), build, batch_size=3, workers=2))


def test_empty_input_yields_nothing():
    assert list(prefetched_batches([], slow_square, batch_size=3, workers=2)) == []
