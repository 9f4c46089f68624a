"""Turn a `--model` value into a model object, through a loud registry of backends (as tasks have).

A backend is a name, the request kinds it can serve and a loader.  `--model NAME:REST` picks backend NAME
explicitly; a path or a hub id (`owner/name`, no colon) goes to the D-DiT backend (`ddit_eval.model`).  A
`NAME:` that names no backend is one line with the close names, not a D-DiT load.  A third backend
registers itself (`register_backend`, or the `ddit_eval.backends` entry point group) with no edit here.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .api import REQUEST_KINDS
from .environment import cuda_available, is_local_path, offline, require_hub
from .errors import UsageError
from .registry import Registry, entry_point_objects

ENTRY_POINT_GROUP = "ddit_eval.backends"
ALL_KINDS = frozenset(REQUEST_KINDS)


def _embedded_checkpoint() -> str:
    """The tiny D-DiT shipped inside `ddit_eval.model` (found without importing torch)."""
    spec = importlib.util.find_spec("ddit_eval.model")
    return str(Path(list(spec.submodule_search_locations)[0]) / "checkpoints" / "tiny-shapes")


# The embedded default: a tiny D-DiT trained on the shapes world (see model/README.md).
DEFAULT_MODEL = _embedded_checkpoint()


@dataclass(frozen=True)
class Backend:
    """`load(spec, device=, dtype=, mask_embedding=)` builds the model; `check(spec)` fails fast on bad specs;
    `devices`: the `--device` values (besides auto) it can run on."""

    name: str
    request_kinds: frozenset[str]
    load: Callable[..., object]
    check: Callable[[str], None] = lambda spec: None
    devices: frozenset[str] = frozenset({"cpu", "cuda"})


class _BackendRegistry(Registry):
    """Backends are instances, not classes; entry points load on first lookup."""

    def __init__(self) -> None:
        super().__init__("model backend", Backend)

    def check(self, item) -> None:
        if not isinstance(item, Backend):
            raise TypeError(f"{item!r} is not a Backend")
        unknown = set(item.request_kinds) - ALL_KINDS
        if unknown:
            raise ValueError(f"model backend {item.name!r} declares unknown request kinds {sorted(unknown)}")

    def same(self, existing, item) -> bool:
        return existing == item

    def describe(self, item) -> str:
        load = item.load
        return f"{item.name} (loader {getattr(load, '__module__', '?')}.{getattr(load, '__qualname__', repr(load))})"

    def load(self) -> None:
        for obj in entry_point_objects(ENTRY_POINT_GROUP, "model backend"):
            self.register(obj() if callable(obj) and not isinstance(obj, Backend) else obj)


BACKENDS = _BackendRegistry()
register_backend = BACKENDS.register


def backend_for(spec: str) -> tuple[Backend, str]:
    """The backend a `--model` value names, and the rest of the value for its loader.

    `NAME:REST` with a registered NAME is that backend's; a colon value that is no existing path and whose
    prefix is a bare name (no `/`, no leading `.` or `~`) names an unknown backend; the rest is D-DiT's."""
    prefix, sep, rest = spec.partition(":")
    if sep and prefix in BACKENDS:
        return BACKENDS.get(prefix), rest
    if sep and _bare_name(prefix) and not Path(spec).expanduser().exists():
        try:
            BACKENDS.get(prefix)
        except UsageError as exc:
            raise UsageError(f"--model {spec!r}: {exc}") from None
    return BACKENDS.get("ddit"), spec


def _bare_name(prefix: str) -> bool:
    return bool(prefix) and not prefix.startswith((".", "~")) and "/" not in prefix and "\\" not in prefix


def looks_like_path(spec: str) -> bool:
    """Local paths start with / . ~ or contain more than one separator; hub ids are owner/name (as for data)."""
    return is_local_path(spec)


def check_model_spec(spec: str, device: str = "auto") -> None:
    """Fail early, before any work, when a model value cannot be loaded (a local path that does not exist, a
    hub out of reach, a bad double) or cannot run on `device`."""
    backend, rest = backend_for(spec)
    backend.check(rest)
    check_device(backend, device)


def check_device(backend: Backend, device: str) -> None:
    """One line before the model loads: a device the backend never uses, or CUDA the machine lacks.
    `cuda:K` (a rank's own GPU under a launcher) counts as cuda."""
    kind = device.partition(":")[0]
    if kind != "auto" and kind not in backend.devices:
        raise UsageError(f"--device {device}: model backend {backend.name!r} runs on {', '.join(sorted(backend.devices))} "
                         "only; use --device auto")
    if kind == "cuda" and not cuda_available():
        raise UsageError("--device cuda: CUDA is not available on this machine (torch.cuda.is_available() is False); "
                         "use --device cpu or auto")


def check_serves(spec: str, task_of_kind: dict[str, str]) -> None:
    """One line, before the model loads, when a task asks for a request kind the backend cannot serve.

    `task_of_kind`: request kind -> the name of a task that needs it."""
    backend, _ = backend_for(spec)
    for kind, task in task_of_kind.items():
        if kind not in backend.request_kinds:
            raise UsageError(f"model backend {backend.name!r} cannot serve task {task!r} ({kind} requests); "
                             f"it serves {', '.join(sorted(backend.request_kinds))}")


def load_backend_model(spec: str, device: str = "auto", dtype: str = "auto", mask_embedding: str | None = None,
                       call_rows: int | None = None):
    """The model a `--model` value names; `call_rows` (rows of every network call) reaches the loader only when given."""
    backend, rest = backend_for(spec)
    backend.check(rest)
    check_device(backend, device)
    extra = {} if call_rows is None else {"call_rows": call_rows}
    return backend.load(rest, device=device, dtype=dtype, mask_embedding=mask_embedding, **extra)


# --------------------------------------------------------------------------- the two built-in backends


def _check_ddit(spec: str) -> None:
    if looks_like_path(spec) and not Path(spec).expanduser().exists():
        raise UsageError(f"--model {spec!r}: no such file or directory")
    if not looks_like_path(spec) and not offline():
        require_hub(f"--model {spec!r}")


def _check_double(spec: str) -> None:
    from .doubles import parse_double

    parse_double("double:" + spec)


def _load_ddit(spec: str, device: str, dtype: str, mask_embedding: str | None, **defaults):
    from ddit_eval.model import load_model as load_ddit

    return load_ddit(str(Path(spec).expanduser()) if looks_like_path(spec) else spec, device=device, dtype=dtype,
                     mask_embedding=mask_embedding, **defaults)


def check_load_options(spec: str, mask_embedding: str | None = None, call_rows: int | None = None) -> None:
    """D-DiT-only load options given with a test double: one line, before any banner or folder."""
    if backend_for(spec)[0].name == "double" and (mask_embedding or call_rows is not None):
        raise UsageError(f"{'--mask-embedding' if mask_embedding else '--call-rows'} applies to D-DiT checkpoints, "
                         "not to test doubles")


def _load_double(spec: str, device: str, dtype: str, mask_embedding: str | None, call_rows: int | None = None):
    from .doubles import load_double

    check_load_options("double:" + spec, mask_embedding, call_rows)
    return load_double("double:" + spec)


register_backend(Backend("ddit", ALL_KINDS, _load_ddit, _check_ddit))
register_backend(Backend("double", ALL_KINDS, _load_double, _check_double, devices=frozenset({"cpu"})))
