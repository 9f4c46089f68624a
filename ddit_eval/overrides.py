"""`--set key=value` parsing: typed by the setting's default, scoped as `task.key` if wanted."""

from __future__ import annotations

import json
from typing import Any, Sequence

from .errors import UsageError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def coerce(key: str, raw: str, default: Any) -> Any:
    """Convert `raw` to the type of `default`; None defaults accept JSON or plain text."""
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
        if default is None and raw.lower() in {"none", "null"}:
            return None
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    except ValueError:
        raise UsageError(f"--set {key}={raw!r}: expected {type(default).__name__} like {default!r}") from None


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
            defaults = task_classes[name].default_settings
            if bare in defaults:
                result[name][bare] = coerce(key, raw, defaults[bare])
                hit = True
        if not hit:
            known = sorted({k for n in targets for k in task_classes[n].default_settings})
            raise UsageError(f"unknown --set key {bare!r} for {', '.join(targets)}; known keys: {', '.join(known) or 'none'}")
    return result
