"""Network calls at one fixed shape, so that a row's result never depends on its batch.

A CPU or GPU kernel library picks its algorithm, its blocking and its reduction order from the
shapes it is given: the same row can round differently in a call of 1, 2 or 6 rows.  Every
transformer, text-encoder and VAE call of the backend therefore runs at exactly `rows` rows:
inputs are cut into chunks of `rows`, the last chunk is filled up with copies of its first row,
and the filler rows' outputs are dropped.  No layer of these networks mixes rows of a batch
(attention, layer and group norms are per row), so a filler row changes nothing else.

Static shapes are also what CUDA graphs and `torch.compile` need.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence, Union

import torch

Output = Union[torch.Tensor, tuple]


def fill_rows(x: torch.Tensor, rows: int) -> torch.Tensor:
    """`x` with copies of its first row appended until it has `rows` rows."""
    missing = rows - x.shape[0]
    return x if missing == 0 else torch.cat([x, x[:1].expand(missing, *x.shape[1:])])


def _take(output: Output, n: int) -> Output:
    if isinstance(output, torch.Tensor):
        return output[:n]
    return tuple(None if o is None else o[:n] for o in output)


def _join(parts: Sequence[Output]) -> Output:
    if isinstance(parts[0], torch.Tensor):
        return parts[0] if len(parts) == 1 else torch.cat(list(parts))
    return tuple(None if column[0] is None else (column[0] if len(column) == 1 else torch.cat(list(column)))
                 for column in zip(*parts))


def in_fixed_chunks(fn: Callable[..., Output], rows: int,
                    on_call: Optional[Callable[[int], None]] = None) -> Callable[..., Output]:
    """`fn(*tensors)` for any number of rows, computed as calls of exactly `rows` rows each.

    Every input has the rows on its first dimension; `fn` returns a tensor or a tuple of
    tensors (or None) with rows first.  `on_call(real_rows)` is told of each call.
    """
    if rows < 1:
        raise ValueError(f"rows={rows}: a network call needs at least 1 row")

    def call(*inputs: torch.Tensor) -> Output:
        total = inputs[0].shape[0]
        if total == 0:
            raise ValueError("a network call with no rows")
        parts = []
        for start in range(0, total, rows):
            chunk = [x[start:start + rows] for x in inputs]
            real = chunk[0].shape[0]
            parts.append(_take(fn(*(fill_rows(x, rows) for x in chunk)), real))
            if on_call is not None:
                on_call(real)
        return _join(parts)

    return call
