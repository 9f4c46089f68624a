"""Build requests ahead of the model in worker threads.

Opening and decoding a JPEG (and resizing it, where the model offers `prepare`)
happens in a thread pool while the model computes the previous batch, so on a
GPU the model does not wait for the data.  Pillow releases the GIL while it
decodes and resizes, so threads run these in parallel.  Batches come out in
sample order whatever order the workers finish in, so results never depend on
the number of workers.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator, Sequence, TypeVar

S = TypeVar("S")
R = TypeVar("R")


def prefetched_batches(items: Sequence[S], build: Callable[[S], R], batch_size: int, workers: int,
                       lookahead: int = 2) -> Iterator[list[R]]:
    """`build(item)` for every item, yielded as batches in order, with `lookahead` batches built ahead.

    `build` should catch its own errors (a failed item is a value, not a raised exception);
    anything it raises is re-raised here.  `workers=0` builds in the caller's thread.
    """
    if workers <= 0:
        for start in range(0, len(items), batch_size):
            yield [build(item) for item in items[start:start + batch_size]]
        return
    pending = iter(items)
    in_flight: deque = deque()
    window = batch_size * (lookahead + 1)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ddit-loader")
    try:
        while True:
            while len(in_flight) < window:
                item = next(pending, _END)
                if item is _END:
                    break
                in_flight.append(pool.submit(build, item))
            if not in_flight:
                return
            batch = [in_flight.popleft() for _ in range(min(batch_size, len(in_flight)))]
            yield [future.result() for future in batch]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_END = object()
