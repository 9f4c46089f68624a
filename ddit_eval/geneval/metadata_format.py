"""The format of GenEval's prompt metadata lines: checks of one line, of a whole prompt file, and parsing.

A line is one JSON object: a `tag` (one of the six GenEval tags), a non-empty `prompt`, a
non-empty `include` list of clauses (`class`, `count`, optional `color` and `position`) and an
optional `exclude` list (`class`, `count`), as in the official `evaluation_metadata.jsonl`.
Every refusal is a one-line UsageError that says where the bad line is.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from ..errors import UsageError
from ..metrics.geneval import COLORS, TAGS

RELATIONS = ("left of", "right of", "above", "below")

_INCLUDE_KEYS = {"class", "count", "color", "position"}
_EXCLUDE_KEYS = {"class", "count"}


def _check_clause(clause: Any, where: str, keys: set[str], index: int) -> None:
    if not isinstance(clause, dict):
        raise UsageError(f"{where}: a clause must be a JSON object, got {clause!r}")
    unknown = set(clause) - keys
    if unknown:
        raise UsageError(f"{where}: unknown clause key(s) {sorted(unknown)} (allowed: {sorted(keys)})")
    if not isinstance(clause.get("class"), str) or not clause["class"].strip():
        raise UsageError(f"{where}: a clause needs a non-empty 'class' string")
    count = clause.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise UsageError(f"{where}: clause 'count' must be an integer >= 1, got {count!r}")
    if "color" in clause and clause["color"] not in COLORS:
        raise UsageError(f"{where}: clause 'color' {clause['color']!r} is not one of {', '.join(COLORS)}")
    if "position" in clause:
        pos = clause["position"]
        if (not isinstance(pos, list) or len(pos) != 2 or pos[0] not in RELATIONS
                or isinstance(pos[1], bool) or not isinstance(pos[1], int) or not 0 <= pos[1] < index):
            raise UsageError(f"{where}: clause 'position' must be [relation, index of an earlier include clause] "
                             f"with relation in {list(RELATIONS)}, got {pos!r}")


def check_line(line: Any, where: str = "metadata") -> dict:
    """One metadata line (a dict or its JSON text), checked; returns the dict. One-line UsageError if malformed."""
    if isinstance(line, (str, bytes)):
        try:
            line = json.loads(line)
        except json.JSONDecodeError as e:
            raise UsageError(f"{where}: not JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(line, dict):
        raise UsageError(f"{where}: must be a JSON object, got {type(line).__name__}")
    if line.get("tag") not in TAGS:
        raise UsageError(f"{where}: 'tag' must be one of {', '.join(TAGS)}, got {line.get('tag')!r}")
    if not isinstance(line.get("prompt"), str) or not line["prompt"].strip():
        raise UsageError(f"{where}: needs a non-empty 'prompt' string")
    include = line.get("include")
    if not isinstance(include, list) or not include:
        raise UsageError(f"{where}: needs a non-empty 'include' list")
    for i, clause in enumerate(include):
        _check_clause(clause, f"{where} include[{i}]", _INCLUDE_KEYS, i)
    exclude = line.get("exclude", [])
    if not isinstance(exclude, list):
        raise UsageError(f"{where}: 'exclude' must be a list")
    for i, clause in enumerate(exclude):
        _check_clause(clause, f"{where} exclude[{i}]", _EXCLUDE_KEYS, 0)
    return line


def validate_metadata(lines: Iterable[Any], source: str = "metadata") -> dict[str, int]:
    """Check every line's format (tag, prompt, include/exclude clauses); number of lines per tag, in TAGS order.

    `lines` are dicts or JSON strings (blank strings are skipped).  Raises a one-line UsageError
    naming the first bad line (1-based).
    """
    counts: dict[str, int] = {}
    for n, line in enumerate(lines, 1):
        if isinstance(line, (str, bytes)) and not line.strip():
            continue
        tag = check_line(line, f"{source} line {n}")["tag"]
        counts[tag] = counts.get(tag, 0) + 1
    if not counts:
        raise UsageError(f"{source}: no metadata lines")
    return {tag: counts[tag] for tag in TAGS if tag in counts}


def parse_metadata(text: str, source: str = "metadata") -> list[dict]:
    """The lines of an `evaluation_metadata.jsonl` text, each checked."""
    rows = [line for line in text.splitlines()]
    validate_metadata(rows, source)
    return [json.loads(line) for line in rows if line.strip()]
