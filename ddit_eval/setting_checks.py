"""Checks a setting needs beyond its type, range and choices (`setting(..., check=...)`), and plain value checks.

Each check raises ValueError saying what was expected; the task turns it into a one-line usage error that
names the task and the setting.  `describes` is the phrase `describe TASK` shows in the constraint column.
The value checks (`integer`, `optional_int`, `number`, `one_of`) serve code that checks loose values
outside a settings declaration (the lmms-eval model's arguments).
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

Check = Callable[[Any], None]


def described(phrase: str) -> Callable[[Check], Check]:
    """Mark a check with the phrase `describe` shows for it."""

    def mark(check: Check) -> Check:
        check.describes = phrase
        return check

    return mark


def existing_path(kind: str = "file or folder") -> Check:
    """A path that exists now (checked before any model work, not hours later)."""

    @described(f"an existing {kind}")
    def check(value: Any) -> None:
        if not isinstance(value, str) or not Path(value).expanduser().exists():
            raise ValueError(f"expected an existing {kind}")

    return check


def template(*fields: str) -> Check:
    """A prompt template whose only placeholders are `fields` (a typo would fail every sample)."""

    @described("placeholders " + ", ".join("{" + f + "}" for f in fields))
    def check(value: Any) -> None:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"not a valid template ({exc})") from None
        unknown = sorted(names - set(fields))
        if unknown:
            raise ValueError(f"unknown placeholder {{{unknown[0]}}}; allowed: {', '.join('{' + f + '}' for f in fields)}")

    return check


def integer(minimum: Optional[int] = None, maximum: Optional[int] = None, allow_none: bool = False) -> Check:
    """An int (not a bool) within [minimum, maximum]; None only where it means "the model's default"."""

    def check(value: Any) -> None:
        if value is None and allow_none:
            return
        ok = isinstance(value, int) and not isinstance(value, bool)
        ok = ok and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
        if not ok:
            bounds = " and ".join(b for b in (minimum is not None and f">= {minimum}", maximum is not None and f"<= {maximum}") if b)
            raise ValueError(f"expected an integer{' ' + bounds if bounds else ''}{' or none' if allow_none else ''}")

    return check


def optional_int(minimum: int = 1, maximum: Optional[int] = None) -> Check:
    """None (the model's default) or an int in range: `steps=0` must not silently mean "default"."""
    return integer(minimum, maximum, allow_none=True)


def number(minimum: Optional[float] = None, allow_none: bool = False) -> Check:
    """A real number (ints accepted) at or above `minimum`."""

    def check(value: Any) -> None:
        if value is None and allow_none:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (minimum is not None and value < minimum):
            raise ValueError(f"expected a number{f' >= {minimum}' if minimum is not None else ''}{' or none' if allow_none else ''}")

    return check


def one_of(names: Iterable[str]) -> Check:
    known = tuple(names)

    def check(value: Any) -> None:
        if value not in known:
            raise ValueError(f"expected one of {', '.join(known)}")

    return check
