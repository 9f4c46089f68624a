"""Declared checks for task settings, so a bad `--set` value is one line before the model loads.

A task lists `setting_checks = {"steps": optional_int(1), ...}`; `Task.__init__`
runs them.  Each check raises `ValueError` with what was expected; the task
turns it into a one-line usage error that names the task and the setting.

A check also declares the type its value has (`declared_type`): a setting whose
default is None is parsed from `--set` by it, so `revision=12345` stays the text
"12345" and `steps=8` is the integer 8 (ddit_eval.overrides).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Optional

Check = Callable[[Any], None]


def declares(kind: type) -> Callable[[Check], Check]:
    """Mark a check with the type of the values it accepts (besides None)."""

    def mark(check: Check) -> Check:
        check.kind = kind
        return check

    return mark


def declared_type(check: Optional[Check]) -> Optional[type]:
    return getattr(check, "kind", None)


def integer(minimum: Optional[int] = None, maximum: Optional[int] = None, allow_none: bool = False) -> Check:
    """An int (not a bool) within [minimum, maximum]; None only where it means "the model's default"."""

    @declares(int)
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

    @declares(float)
    def check(value: Any) -> None:
        if value is None and allow_none:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (minimum is not None and value < minimum):
            raise ValueError(f"expected a number{f' >= {minimum}' if minimum is not None else ''}{' or none' if allow_none else ''}")

    return check


def one_of(names: Iterable[str]) -> Check:
    known = tuple(names)

    @declares(str)
    def check(value: Any) -> None:
        if value not in known:
            raise ValueError(f"expected one of {', '.join(known)}")

    return check


def existing_path(allow_none: bool = True, kind: str = "file or folder") -> Check:
    @declares(str)
    def check(value: Any) -> None:
        if value is None and allow_none:
            return
        if not isinstance(value, str) or not Path(value).expanduser().exists():
            raise ValueError(f"expected an existing {kind}")

    return check


def template(*fields: str, allow_none: bool = False) -> Check:
    """A prompt template: a string whose only placeholders are `fields` (a typo would fail every sample)."""
    import string

    @declares(str)
    def check(value: Any) -> None:
        if value is None and allow_none:
            return
        if not isinstance(value, str):
            raise ValueError("expected a template string")
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"not a valid template ({exc})") from None
        unknown = sorted(names - set(fields))
        if unknown:
            raise ValueError(f"unknown placeholder {{{unknown[0]}}}; allowed: {', '.join('{' + f + '}' for f in fields)}")

    return check


def text(allow_none: bool = True) -> Check:
    """Plain text (a hub revision, a config name): digits stay text, never a number."""

    @declares(str)
    def check(value: Any) -> None:
        if not (isinstance(value, str) or (value is None and allow_none)):
            raise ValueError(f"expected text{' or none' if allow_none else ''}")

    return check
