"""Frozen, typed task settings: each task declares a frozen dataclass with one `setting()` per field.

    @dataclass(frozen=True)
    class ProbeShots(Settings):
        shots: tuple[int, ...] = setting((0, 32), "in-context examples per question", minimum=0, unordered=True)

The annotation is the type (ddit_eval.setting_types); `setting` adds the one-line doc, a range, choices
and any special check (ddit_eval.setting_checks).  Building a task validates every field and refuses an
unknown key, each in one line naming the task and the setting; `--set` text is parsed by the field's
type.  Lists are never empty and never repeat a value (a repeat is refused, not silently dropped); a
list whose order does not matter (`unordered`) is kept sorted, so `shots=32,0` and `shots=0,32` are the
same settings and fingerprint the same run.  Task families share fields by inheriting declarations.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping, Optional, get_type_hints

from .errors import UsageError
from .setting_checks import existing_path, integer, number, one_of, optional_int, template  # noqa: F401  (re-exported)
from .setting_types import Kind, shown

SPEC = "ddit_eval.setting"  # the dataclass field metadata key of a setting's declaration


@dataclass(frozen=True)
class Spec:
    """What a setting declares besides its type: its doc, and what a good value is."""

    doc: str
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    choices: Optional[tuple[str, ...]] = None
    unordered: bool = False
    item: Optional[str] = None  # what one element of a list is called in messages ("step count")
    check: Optional[Callable[[Any], None]] = None  # a special check of the value (or of each list element)

    def expected(self, kind: Kind) -> str:
        """A good value, in words: "int (an integer) >= 1 and <= 128 or none"."""
        if self.choices:
            what = (f"comma-separated {self.item or 'name'}s among {', '.join(self.choices)}" if kind.sequence
                    else f"one of {', '.join(self.choices)}")
        else:
            bounds = [f">= {self.minimum}" if self.minimum is not None else "",
                      f"<= {self.maximum}" if self.maximum is not None else ""]
            what = " ".join([kind.noun(self.item), " and ".join(b for b in bounds if b)]).strip()
        return what + (" or none" if kind.optional else "")

    def constraint(self, kind: Kind) -> str:
        """The constraint column of `describe`: range, choices, order, special check (of each element of a list)."""
        parts = [f">= {self.minimum}" if self.minimum is not None else "",
                 f"<= {self.maximum}" if self.maximum is not None else "",
                 f"{'each ' if kind.sequence else ''}one of {', '.join(self.choices)}" if self.choices else "",
                 "any order (kept sorted)" if self.unordered else "",
                 getattr(self.check, "describes", "") if self.check else ""]
        return "; ".join(p for p in parts if p)

    def validate(self, kind: Kind, value: Any) -> Any:
        """The value as stored (typed, lists as sorted tuples where unordered); ValueError saying what was expected."""
        try:
            value = kind.coerce(value)
        except ValueError:
            raise ValueError(f"expected {self.expected(kind)}") from None
        if value is None:
            return None
        items = value if kind.sequence else (value,)
        if kind.sequence and not items:
            raise ValueError(f"expected {self.expected(kind)}, at least one")
        repeated = [v for i, v in enumerate(items) if v in items[:i]]
        if repeated:
            raise ValueError(f"a {self.item or 'value'} appears twice ({repeated[0]!r})")
        for item in items:
            if (self.minimum is not None and item < self.minimum) or (self.maximum is not None and item > self.maximum) \
                    or (self.choices and item not in self.choices):
                raise ValueError(f"expected {self.expected(kind)}")
            if self.check:
                self.check(item)
        return tuple(sorted(items)) if kind.sequence and self.unordered else value


def setting(default: Any, doc: str, *, minimum: Optional[float] = None, maximum: Optional[float] = None,
            choices: Optional[Iterable[str]] = None, unordered: bool = False, item: Optional[str] = None,
            check: Optional[Callable[[Any], None]] = None) -> Any:
    """One declared setting: its default, a one-line doc, and what a good value is (see `Spec`)."""
    if not doc.strip():
        raise TypeError("a setting needs a one-line doc")
    spec = Spec(doc, minimum, maximum, tuple(choices) if choices is not None else None, unordered, item, check)
    return field(default=default, metadata={SPEC: spec})


@dataclass(frozen=True)
class Declared:
    """One field of a settings declaration, as `describe` and the checks read it."""

    name: str
    kind: Kind
    default: Any
    spec: Spec


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """"; did you mean steps?" for a close known name, else the known names."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    return f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(known) or 'none'}"


def as_json(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class Settings:
    """The base of every task's settings declaration (a task with none has no settings)."""

    @classmethod
    def declared(cls) -> tuple[Declared, ...]:
        return _declared(cls)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(d.name for d in cls.declared())

    @classmethod
    def build(cls, owner: str, values: Mapping[str, Any]) -> "Settings":
        """The settings of task `owner` from the values given (the rest default), every field validated."""
        declared = {d.name: d for d in cls.declared()}
        for key in values:
            if key not in declared:
                raise UsageError(f"task {owner!r} has no setting {key!r}{did_you_mean(key, declared)}")
        checked = {}
        for name, d in declared.items():
            value = values.get(name, d.default)
            try:
                checked[name] = d.spec.validate(d.kind, value)
            except ValueError as exc:
                raise UsageError(f"task {owner!r}: setting {name}={shown(value)}: {exc}") from None
        return cls(**checked)

    @classmethod
    def parse(cls, key: str, raw: str, label: Optional[str] = None) -> Any:
        """`--set key=raw` as the field's type (its range and checks come when the task is built)."""
        d = next(d for d in cls.declared() if d.name == key)
        try:
            return d.kind.parse(raw)
        except ValueError:
            raise UsageError(f"--set {label or key}={raw!r}: expected {d.spec.expected(d.kind)}") from None

    @classmethod
    def with_default(cls, name: str, default: Any) -> Any:
        """Field `name` of this declaration with another default (a hub task's own dataset id), doc and checks kept."""
        return field(default=default, metadata=cls.__dataclass_fields__[name].metadata)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """The defaults as results.json records settings (lists as JSON lists)."""
        return {d.name: as_json(d.default) for d in cls.declared()}

    @classmethod
    def recorded(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """The entries of recorded settings (results.json) this declaration still has, to rebuild the task."""
        return {k: v for k, v in values.items() if k in cls.names()}

    def as_dict(self) -> dict[str, Any]:
        """The settings as results.json records them (and the run fingerprints them): lists as JSON lists."""
        return {d.name: as_json(getattr(self, d.name)) for d in self.declared()}


@lru_cache(maxsize=None)
def _declared(cls: type) -> tuple[Declared, ...]:
    """The fields of a declaration; a TypeError for one that is not a frozen dataclass of `setting()` fields."""
    params = vars(cls).get("__dataclass_params__")
    if params is None or not params.frozen:
        raise TypeError(f"{cls.__qualname__} must be declared with @dataclass(frozen=True)")
    hints = get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        spec = f.metadata.get(SPEC)
        if spec is None:
            raise TypeError(f"{cls.__qualname__}.{f.name}: declare it with setting(default, doc, ...)")
        out.append(Declared(f.name, Kind.of(hints[f.name]), f.default, spec))
    return tuple(out)
