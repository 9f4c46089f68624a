"""Where two JSON values differ, as dotted paths a person can act on (`pope.parse_rule: pope -> exact`)."""

from __future__ import annotations

import json
from typing import Any

_MISSING = object()


def changed_paths(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Dotted paths at which two JSON values differ; an absent key reads as null (a setting added as null later
    changes nothing)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [path for k in sorted(set(a) | set(b), key=str)
                for path in changed_paths(a.get(k), b.get(k), f"{prefix}{k}.")]
    return [] if a == b else [prefix.rstrip(".") or "config"]


def value_at(data: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(data, dict) or key not in data:
            return _MISSING
        data = data[key]
    return data


def _shown(value: Any) -> str:
    return "(absent)" if value is _MISSING else json.dumps(value, default=str)[:60]


def setting_changes(old: dict, new: dict, limit: int = 4) -> str:
    """`pope.parse_rule: "pope" -> "exact"; seed: 0 -> 1`: a run fingerprint's changes, a task's settings named
    as `--set` names them."""
    paths = changed_paths(old, new) or sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k)) or ["config"]
    shown = []
    for path in paths[:limit]:
        name = path.removeprefix("tasks.").replace(".settings.", ".", 1)
        shown.append(f"{name}: {_shown(value_at(old, path))} -> {_shown(value_at(new, path))}")
    more = f"; and {len(paths) - limit} more" if len(paths) > limit else ""
    return "; ".join(shown) + more
