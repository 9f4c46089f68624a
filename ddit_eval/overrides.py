"""`--set key=value` parsing: by the setting's declared type (ddit_eval.settings), scoped as `task.key` if wanted.

The value is never guessed from its text: `revision=12345` stays text, `steps=8` is an integer, a list is
comma-separated (`shots=0,32`), `none` is None only for an Optional setting.
"""

from __future__ import annotations

from typing import Any, Sequence

from .errors import UsageError
from .settings import did_you_mean


def task_overrides(pairs: Sequence[str], task_classes: dict[str, type]) -> dict[str, dict[str, Any]]:
    """Split `--set` pairs into per-task setting dicts, each value parsed by its field's type; unknown keys are errors."""
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
            declaration = task_classes[name].settings_type
            if bare in declaration.names():
                result[name][bare] = declaration.parse(bare, raw, key)
                hit = True
        if not hit:
            known = {k for n in targets for k in task_classes[n].settings_type.names()}
            raise UsageError(f"unknown --set key {bare!r} for {', '.join(targets)}{did_you_mean(bare, known)}")
    return result
