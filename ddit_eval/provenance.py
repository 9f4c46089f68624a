"""Versions and source revision recorded with every result."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import subprocess
from functools import lru_cache
from pathlib import Path

import ddit_eval

PACKAGES = ("torch", "diffusers", "transformers", "datasets", "pycocoevalcap", "torch-fidelity")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def git_commit() -> str | None:
    """The project's commit (with `-dirty` when the tree has changes), if it runs from a checkout."""
    root = Path(ddit_eval.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True, timeout=10)
        return commit.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def versions() -> dict:
    info = {"python": platform.python_version(), "ddit_eval": ddit_eval.__version__}
    info.update({name: _version(name) for name in PACKAGES})
    info["git_commit"] = git_commit()
    return info


@lru_cache(maxsize=8)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file, read in blocks and hashed once per process while it is unchanged (checkpoints are
    hundreds of MB; a Karpathy split file is read by several tasks of one run)."""
    real = os.path.realpath(os.path.expanduser(path))
    stat = os.stat(real)
    return _sha256_of(real, stat.st_size, stat.st_mtime_ns)
