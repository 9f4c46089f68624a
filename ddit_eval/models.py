"""Turn a `--model` value into a model object: test doubles or the D-DiT backend."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .errors import UsageError


def _embedded_checkpoint() -> str:
    """The tiny D-DiT shipped inside `ddit_eval.model` (found without importing torch)."""
    spec = importlib.util.find_spec("ddit_eval.model")
    return str(Path(list(spec.submodule_search_locations)[0]) / "checkpoints" / "tiny-shapes")


# The embedded default: a tiny D-DiT trained on the shapes world (see model/README.md).
DEFAULT_MODEL = _embedded_checkpoint()


def looks_like_path(spec: str) -> bool:
    """Local paths start with / . ~ or contain more than one separator; hub ids are owner/name."""
    return spec.startswith(("/", ".", "~")) or spec.count("/") != 1 or Path(spec).exists()


def check_model_spec(spec: str) -> None:
    """Fail early, before any work, when a local model path does not exist."""
    if spec.startswith("double:"):
        return
    if looks_like_path(spec) and not Path(spec).expanduser().exists():
        raise UsageError(f"--model {spec!r}: no such file or directory")


def load_model(spec: str, device: str = "auto", dtype: str = "auto", mask_embedding: str | None = None):
    check_model_spec(spec)
    if spec.startswith("double:"):
        from .doubles import load_double

        if mask_embedding:
            raise UsageError("--mask-embedding applies to D-DiT checkpoints, not to test doubles")

        return load_double(spec)
    from ddit_eval.model import load_model as load_ddit

    return load_ddit(str(Path(spec).expanduser()) if looks_like_path(spec) else spec, device=device, dtype=dtype,
                     mask_embedding=mask_embedding)
