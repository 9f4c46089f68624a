"""Turn a `--model` value into a model object: test doubles or the D-DiT backend."""

from __future__ import annotations

from pathlib import Path

from .errors import UsageError

# The embedded default: a tiny D-DiT shipped with the package (see model/README.md).
DEFAULT_MODEL = str(Path(__file__).resolve().parent.parent / "model" / "checkpoints" / "tiny-shapes")


def looks_like_path(spec: str) -> bool:
    """Local paths start with / . ~ or contain more than one separator; hub ids are owner/name."""
    return spec.startswith(("/", ".", "~")) or spec.count("/") != 1 or Path(spec).exists()


def check_model_spec(spec: str) -> None:
    """Fail early, before any work, when a local model path does not exist."""
    if spec.startswith("double:"):
        return
    if looks_like_path(spec) and not Path(spec).expanduser().exists():
        raise UsageError(f"--model {spec!r}: no such file or directory")


def load_model(spec: str, device: str = "auto", dtype: str = "auto"):
    check_model_spec(spec)
    if spec.startswith("double:"):
        from .doubles import load_double

        return load_double(spec)
    from ddit_eval.model import load_model as load_ddit

    return load_ddit(str(Path(spec).expanduser()) if looks_like_path(spec) else spec, device=device, dtype=dtype)
