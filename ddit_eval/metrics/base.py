"""The shared shape of every metric: declared state, `update`, `compute`, `reset`.

Like torchmetrics, a metric declares its state once (`add_state`), `update`
folds a batch of samples into that state, `compute` turns the state into the
aggregate numbers, and `reset` restores the declared defaults.  Every metric
keeps per-sample scores so that the harness can pair two runs sample by sample.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, ClassVar, Optional

from ..errors import UsageError


class Metric:
    """Base class: subclasses declare state in `__init__` and write `update`/`compute`."""

    # headline names in `compute()` where smaller is better (FID, KID); every other one is higher-is-better.
    # Results record it per metric, so `compare` gates FID and IS of one task each the right way round.
    lower_is_better: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        self._defaults: dict[str, Any] = {}

    def add_state(self, name: str, default: Any) -> None:
        """Declare a piece of state; `reset()` restores a fresh copy of `default`."""
        self._defaults[name] = default
        setattr(self, name, copy.deepcopy(default))

    def reset(self) -> None:
        for name, default in self._defaults.items():
            setattr(self, name, copy.deepcopy(default))

    def update(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def compute(self) -> dict[str, Optional[float]]:
        """Aggregate numbers; a ratio with nothing in its denominator is None (never measured), not 0."""
        raise NotImplementedError

    def notes(self) -> list[str]:
        """Why each undefined (None) number of `compute()` is undefined, one line each, for the results' notes."""
        return []

    def per_sample(self) -> list[dict[str, float]]:
        """Per-sample scores in update order (keys named like the headline they average to)."""
        raise NotImplementedError

    def config(self) -> dict:
        """The protocol choices of this metric (recorded with results)."""
        return {"metric": type(self).__name__}


def ratio(numerator: float, denominator: float, scale: float = 100.0) -> Optional[float]:
    """numerator / denominator x scale; None for an empty denominator: 0/0 was never measured, so it is not 0."""
    return scale * numerator / denominator if denominator else None


def check_same_length(**columns: Any) -> int:
    """All columns of one `update` must have the same length; name the odd one out."""
    lengths = {name: len(values) for name, values in columns.items() if values is not None}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise ValueError(f"update() got columns of different lengths: {detail}")
    return next(iter(lengths.values()), 0)


def choose(name: str, value: str, known: dict[str, Callable] | tuple[str, ...]) -> str:
    """Check a protocol name against the known ones; a miss is a usage error listing them."""
    if value not in known:
        raise UsageError(f"unknown {name} {value!r}; known: {', '.join(known)}")
    return value
