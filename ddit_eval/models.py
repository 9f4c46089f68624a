"""Turn a `--model` value into a model object, through a registry of backends (as tasks have).

A backend is a name, the request kinds it can serve and a loader.  `--model NAME:REST`
picks backend NAME explicitly; a value with no registered prefix (a path or a hub id)
goes to the D-DiT backend.  A third backend registers itself (`register_backend`, or
the `ddit_eval.backends` entry point group) with no edit here.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .api import REQUEST_KINDS
from .environment import cuda_available, is_local_path, offline, require_hub
from .errors import UsageError

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


_BACKENDS: dict[str, Backend] = {}
_entry_points_loaded = False


def register_backend(backend: Backend) -> Backend:
    existing = _BACKENDS.get(backend.name)
    if existing is not None and existing != backend:
        raise ValueError(f"model backend {backend.name!r} is registered twice")
    unknown = set(backend.request_kinds) - ALL_KINDS
    if unknown:
        raise ValueError(f"model backend {backend.name!r} declares unknown request kinds {sorted(unknown)}")
    _BACKENDS[backend.name] = backend
    return backend


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            backend = ep.load()
        except Exception as exc:
            raise UsageError(f"cannot load model backend entry point {ep.name!r} ({ep.value}): "
                             f"{type(exc).__name__}: {exc}") from exc
        register_backend(backend() if callable(backend) and not isinstance(backend, Backend) else backend)


def backend_names() -> list[str]:
    _load_entry_points()
    return sorted(_BACKENDS)


def backend_for(spec: str) -> tuple[Backend, str]:
    """The backend a `--model` value names, and the rest of the value for its loader."""
    _load_entry_points()
    prefix, sep, rest = spec.partition(":")
    if sep and prefix in _BACKENDS:
        return _BACKENDS[prefix], rest
    return _BACKENDS["ddit"], spec


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


def load_model(spec: str, device: str = "auto", dtype: str = "auto", mask_embedding: str | None = None):
    backend, rest = backend_for(spec)
    backend.check(rest)
    check_device(backend, device)
    return backend.load(rest, device=device, dtype=dtype, mask_embedding=mask_embedding)


# --------------------------------------------------------------------------- the two built-in backends


def _check_ddit(spec: str) -> None:
    if looks_like_path(spec) and not Path(spec).expanduser().exists():
        raise UsageError(f"--model {spec!r}: no such file or directory")
    if not looks_like_path(spec) and not offline():
        require_hub(f"--model {spec!r}")


def _check_double(spec: str) -> None:
    from .doubles import parse_double

    parse_double("double:" + spec)


def _load_ddit(spec: str, device: str, dtype: str, mask_embedding: str | None):
    from ddit_eval.model import load_model as load_ddit

    return load_ddit(str(Path(spec).expanduser()) if looks_like_path(spec) else spec, device=device, dtype=dtype,
                     mask_embedding=mask_embedding)


def _load_double(spec: str, device: str, dtype: str, mask_embedding: str | None):
    from .doubles import load_double

    if mask_embedding:
        raise UsageError("--mask-embedding applies to D-DiT checkpoints, not to test doubles")
    return load_double("double:" + spec)


register_backend(Backend("ddit", ALL_KINDS, _load_ddit, _check_ddit))
register_backend(Backend("double", ALL_KINDS, _load_double, _check_double, devices=frozenset({"cpu"})))
