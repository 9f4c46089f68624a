"""`--set key=value` parsing: typed by the setting's default, scoped as `task.key` if wanted.

A setting whose default is None takes the type its check declares (ddit_eval.settings), or is text;
it is never guessed from the value (JSON would turn `revision=12345` into a number).
"""

from __future__ import annotations

import json
from typing import Any, Optional, Sequence

from .errors import UsageError
from .settings import declared_type

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "text"}


def setting_type(task_class: type, key: str) -> type:
    """The type `--set` parses a setting to: its default's, else the one its check declares, else text."""
    default = task_class.default_settings[key]
    if default is not None:
        return type(default)
    return declared_type(task_class.setting_checks.get(key)) or str


def coerce(key: str, raw: str, default: Any, kind: Optional[type] = None) -> Any:
    """Convert `raw` to the type of `default`; a None default to `kind` (text if undeclared), or `none`."""
    if default is None:
        return _coerce_optional(key, raw, kind or str)
    try:
        if isinstance(default, bool):
            low = raw.lower()
            if low in _TRUE | _FALSE:
                return low in _TRUE
            raise ValueError
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, str):
            return raw
        value = json.loads(raw)  # a list or dict default (a plugin's): JSON of the same type
        if not isinstance(value, type(default)):
            raise ValueError
        return value
    except ValueError:
        raise UsageError(f"--set {key}={raw!r}: expected {type(default).__name__} like {default!r}") from None


def _coerce_optional(key: str, raw: str, kind: type) -> Any:
    """`none` / `null` (the default) or a value of the declared type."""
    if raw.lower() in {"none", "null"}:
        return None
    if kind is str:
        return raw
    try:
        return coerce(key, raw, kind())
    except UsageError:
        raise UsageError(f"--set {key}={raw!r}: expected {_NAMES.get(kind, kind.__name__)} or none") from None


def task_overrides(pairs: Sequence[str], task_classes: dict[str, type]) -> dict[str, dict[str, Any]]:
    """Split `--set` pairs into per-task setting dicts; unknown keys are errors."""
    result: dict[str, dict[str, Any]] = {name: {} for name in task_classes}
    for pair in pairs:
        if "=" not in pair:
            raise UsageError(f"--set {pair!r}: expected key=value")
        key, raw = pair.split("=", 1)
        scope, _, bare = key.rpartition(".")
        if scope and scope not in task_classes:
            raise UsageError(f"--set {key}: task {scope!r} is not among the selected tasks")
        targets = [scope] if scope else list(task_classes)
        hit = False
        for name in targets:
            cls = task_classes[name]
            if bare in cls.default_settings:
                result[name][bare] = coerce(key, raw, cls.default_settings[bare], setting_type(cls, bare))
                hit = True
        if not hit:
            known = sorted({k for n in targets for k in task_classes[n].default_settings})
            raise UsageError(f"unknown --set key {bare!r} for {', '.join(targets)}; known keys: {', '.join(known) or 'none'}")
    return result
