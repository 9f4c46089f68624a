"""The types a task setting may declare, and how a value (or `--set` text) becomes one of them.

A setting's annotation is bool, int, float or str, optionally `Optional[...]`, or a list written as
`tuple[X, ...]`.  Text is parsed by that declared type, never guessed from its look: `revision=12345`
stays the text "12345", `steps=8` is the integer 8, `shots=0,32` the tuple (0, 32), `none` is None
only where the type is Optional.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any, Optional, Union, get_args, get_origin

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_NONE = {"none", "null"}
_NOUNS = {bool: "true or false", int: "an integer", float: "a number", str: "text"}
_PLURALS = {bool: "true/false values", int: "integers", float: "numbers", str: "names"}


@dataclass(frozen=True)
class Kind:
    """A declared setting type: one scalar type, maybe None as well, maybe a tuple of such values."""

    scalar: type
    optional: bool = False
    sequence: bool = False

    @classmethod
    def of(cls, annotation: Any) -> "Kind":
        """The Kind of an annotation; a TypeError for what settings cannot hold (a dict, a nested list)."""
        optional = False
        if get_origin(annotation) in (Union, types.UnionType):
            args = get_args(annotation)
            rest = [a for a in args if a is not type(None)]
            if len(args) != 2 or len(rest) != 1:
                raise TypeError(f"unsupported setting type {annotation!r}: only Optional[X] unions")
            annotation, optional = rest[0], True
        if get_origin(annotation) is tuple:
            args = get_args(annotation)
            if len(args) != 2 or args[1] is not Ellipsis or args[0] not in _NOUNS:
                raise TypeError(f"unsupported setting type {annotation!r}: lists are tuple[int, ...], tuple[str, ...]")
            return cls(args[0], optional, True)
        if annotation not in _NOUNS:
            raise TypeError(f"unsupported setting type {annotation!r}: bool, int, float, str, Optional or tuple")
        return cls(annotation, optional)

    @property
    def name(self) -> str:
        """As `describe` shows it: int, list of int, str or none."""
        base = f"list of {self.scalar.__name__}" if self.sequence else self.scalar.__name__
        return f"{base} or none" if self.optional else base

    def noun(self, item: Optional[str] = None) -> str:
        """What a value of this type is, for error messages ("int (an integer)", "comma-separated step counts")."""
        if self.sequence:
            return f"comma-separated {item + 's' if item else _PLURALS[self.scalar]}"
        return f"{self.scalar.__name__} ({_NOUNS[self.scalar]})"

    def parse(self, raw: str) -> Any:
        """`--set` text as a value of this type; ValueError when it is not one."""
        if self.optional and raw.strip().lower() in _NONE:
            return None
        if self.sequence:
            return tuple(self._parse_scalar(part.strip()) for part in raw.split(",") if part.strip())
        return self._parse_scalar(raw)

    def _parse_scalar(self, raw: str) -> Any:
        if self.scalar is str:
            return raw
        if self.scalar is bool:
            low = raw.strip().lower()
            if low not in _TRUE | _FALSE:
                raise ValueError(raw)
            return low in _TRUE
        return self.scalar(raw)  # int("3.5") and float("x") raise ValueError

    def coerce(self, value: Any) -> Any:
        """A value given in Python (or read back from results.json) as this type: an int is a float where a float
        is declared, a list becomes a tuple, and a list setting also takes its `--set` text; ValueError otherwise."""
        if value is None:
            if self.optional:
                return None
            raise ValueError("none")
        if not self.sequence:
            return self._coerce_scalar(value)
        if isinstance(value, str):
            return self.parse(value)
        if not isinstance(value, (list, tuple)):
            raise ValueError(repr(value))
        return tuple(self._coerce_scalar(v) for v in value)

    def _coerce_scalar(self, value: Any) -> Any:
        if isinstance(value, bool) != (self.scalar is bool):
            raise ValueError(repr(value))  # True is an int to Python, never to a setting
        if self.scalar is float and isinstance(value, int):
            return float(value)
        if not isinstance(value, self.scalar):
            raise ValueError(repr(value))
        return value


def shown(value: Any) -> str:
    """A value as messages show it: a list as its `--set` text ('4,0'), anything else as its repr."""
    if isinstance(value, (tuple, list)):
        return repr(",".join(str(v) for v in value))
    return repr(value)
