"""A loud registry of tasks: duplicates and unknown names are errors, misses suggest names."""

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
    """Name -> class, with a base-class check and close-name suggestions."""

    def __init__(self, kind: str, base: type) -> None:
        self.kind = kind
        self.base = base
        self._items: dict[str, type] = {}

    def register(self, cls: type) -> type:
        """Class decorator: register under `cls.name`."""
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise TypeError(f"{cls!r} is not a subclass of {self.base.__name__}")
        name = getattr(cls, "name", None)
        if not name:
            raise TypeError(f"{cls.__name__} has no `name`")
        existing = self._items.get(name)
        if existing is not None and existing is not cls:
            if (existing.__module__, existing.__qualname__) != (cls.__module__, cls.__qualname__):
                raise ValueError(
                    f"{self.kind} {name!r} is registered twice: "
                    f"{existing.__module__}.{existing.__qualname__} and {cls.__module__}.{cls.__qualname__}"
                )
        self._items[name] = cls
        return cls

    def get(self, name: str) -> type:
        try:
            return self._items[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._items, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(sorted(self._items))}"
            raise UsageError(f"unknown {self.kind} {name!r}{hint}") from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        return name in self._items


def _task_base() -> type:
    from .api import Task

    return Task


class _TaskRegistry(Registry):
    """The task registry; built-ins, entry points and include paths load on first use."""

    def __init__(self) -> None:
        super().__init__("task", _task_base())
        self._loaded_builtins = False

    def load_builtins(self) -> None:
        if self._loaded_builtins:
            return
        self._loaded_builtins = True
        import ddit_eval.tasks as package

        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            importlib.import_module(info.name)
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            try:
                obj = ep.load()
            except Exception as exc:  # a broken third-party package is named, not a traceback in every command
                raise UsageError(f"cannot load task entry point {ep.name!r} ({ep.value}) of group "
                                 f"{ENTRY_POINT_GROUP}: {type(exc).__name__}: {exc}") from exc
            if isinstance(obj, type):
                self.register(obj)

    def get(self, name: str) -> type:
        self.load_builtins()
        return super().get(name)

    def names(self) -> list[str]:
        self.load_builtins()
        return super().names()


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
    TASKS.load_builtins()
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
