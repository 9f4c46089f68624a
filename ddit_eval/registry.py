"""Loud registries (tasks, encoders, model backends): duplicates and unknown names are errors, misses suggest names."""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.metadata
import importlib.util
import pkgutil
import sys
from pathlib import Path
from typing import Generic, TypeVar

from .errors import UsageError

T = TypeVar("T")

ENTRY_POINT_GROUP = "ddit_eval.tasks"


class Registry(Generic[T]):
    """Name -> class, with a base-class check and close-name suggestions.

    A registry of instances (model backends) overrides `check` and `same`; one whose items register late
    (built-in modules, entry points) overrides `load`."""

    def __init__(self, kind: str, base: type) -> None:
        self.kind = kind
        self.base = base
        self._items: dict[str, T] = {}
        self._loaded = False

    def load(self) -> None:
        """Register what is found late (built-in modules, entry points); runs once, before the first lookup."""

    def ensure_loaded(self) -> None:
        if not self._loaded:
            self._loaded = True
            self.load()

    def check(self, item) -> None:
        """Refuse what is not a subclass of `base` (a TypeError: a programming error, not bad input)."""
        if not (isinstance(item, type) and issubclass(item, self.base)):
            raise TypeError(f"{item!r} is not a subclass of {self.base.__name__}")

    def same(self, existing, item) -> bool:
        """Whether `item` re-registers `existing` (the same class, or the same class imported again)."""
        return existing is item or (existing.__module__, existing.__qualname__) == (item.__module__, item.__qualname__)

    def describe(self, item) -> str:
        return f"{item.__module__}.{item.__qualname__}"

    def register(self, item: T) -> T:
        """Class decorator: register under `item.name`."""
        self.check(item)
        name = getattr(item, "name", None)
        if not name:
            raise TypeError(f"{self.describe(item)} has no `name`")
        existing = self._items.get(name)
        if existing is not None and not self.same(existing, item):
            raise ValueError(f"{self.kind} {name!r} is registered twice: "
                             f"{self.describe(existing)} and {self.describe(item)}")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        self.ensure_loaded()
        try:
            return self._items[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._items, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(sorted(self._items))}"
            raise UsageError(f"unknown {self.kind} {name!r}{hint}") from None

    def names(self) -> list[str]:
        self.ensure_loaded()
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        self.ensure_loaded()
        return name in self._items


def entry_point_objects(group: str, what: str) -> list:
    """The objects an entry-point group names; a broken third-party package is one line, not a traceback."""
    objects = []
    for ep in importlib.metadata.entry_points(group=group):
        try:
            objects.append(ep.load())
        except Exception as exc:
            raise UsageError(f"cannot load {what} entry point {ep.name!r} ({ep.value}) of group "
                             f"{group}: {type(exc).__name__}: {exc}") from exc
    return objects


def _task_base() -> type:
    from .api import Benchmark

    return Benchmark


class _TaskRegistry(Registry):
    """The task registry; built-ins, entry points and include paths load on first use."""

    def __init__(self) -> None:
        super().__init__("task", _task_base())

    def load(self) -> None:
        import ddit_eval.tasks as package

        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            importlib.import_module(info.name)
        for obj in entry_point_objects(ENTRY_POINT_GROUP, "task"):
            if isinstance(obj, type):
                self.register(obj)


TASKS = _TaskRegistry()
register_task = TASKS.register

# Names usable in --tasks for several tasks at once.
GROUPS = {
    "understanding": ("coco-caption", "vqav2", "vizwiz", "okvqa", "mme", "gqa", "pope"),  # the paper's table
    "shapes": ("shapes-vqa", "shapes-caption", "shapes-pope", "shapes-mme", "shapes-geneval"),
}


def expand_task_names(names: list[str]) -> list[str]:
    """Group names become their tasks, in order, each task once."""
    out: list[str] = []
    for name in names:
        out.extend(GROUPS.get(name, (name,)))
    return list(dict.fromkeys(out))


def include_path(directory: str | Path) -> list[str]:
    """Import every `*.py` in `directory` so its `@register_task` classes register.

    Returns the names of the tasks that appeared.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise UsageError(f"--include-path {str(directory)!r} is not a directory")
    TASKS.ensure_loaded()
    before = set(TASKS.names())
    for path in sorted(directory.resolve().glob("*.py")):
        # keyed by the file's full path: two folders may both hold a `tasks.py`
        digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
        module_name = f"ddit_eval_plugins.{path.stem}_{digest}"
        if module_name in sys.modules:
            continue
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[module_name]
            raise UsageError(f"cannot import task file {str(path)!r}: {type(exc).__name__}: {exc}") from exc
    return sorted(set(TASKS.names()) - before)
