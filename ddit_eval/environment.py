"""What the machine offers, asked cheaply and the same way everywhere: local path or hub id, offline or
not, can the hub be reached, is there CUDA.  Each answer comes before any model or data work, so bad
input is one line at once (not 10 retries of a download, nor a model load before a missing GPU).  Which
device `auto` means is answered here too, once for the run's model and every scorer."""

from __future__ import annotations

import functools
import os
import socket
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from .errors import UsageError

_TRUE = {"1", "true", "yes", "on"}  # what huggingface_hub and datasets read as true
HUB_PROBE_TIMEOUT_S = 3.0


def is_local_path(value: str) -> bool:
    """Paths start with / . ~, exist, or have other than one `/`; hub ids are `owner/name`."""
    return value.startswith(("/", ".", "~")) or value.count("/") != 1 or Path(value).exists()


def offline() -> bool:
    """HF_HUB_OFFLINE as huggingface_hub reads it: 1 / true / yes / on is offline; 0, empty or unset is online."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def hub_endpoint() -> str:
    from huggingface_hub import constants  # light: no torch, no datasets

    return constants.ENDPOINT


@functools.lru_cache(maxsize=None)
def _reachable(url: str, timeout: float) -> bool:
    """A TCP connect to the endpoint, or to the proxy that would carry the request."""
    target = parts = urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname or ""):
        target = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    port = target.port or (443 if target.scheme == "https" else 80)
    try:
        socket.create_connection((target.hostname, port), timeout=timeout).close()
        return True
    except OSError:
        return False


def require_hub(what: str) -> None:
    """One line at once when `what` needs the hub and it cannot be reached (the libraries would retry for
    half a minute, printing each retry)."""
    endpoint = hub_endpoint()
    if not _reachable(endpoint, HUB_PROBE_TIMEOUT_S):
        raise UsageError(f"{what}: cannot reach the Hugging Face hub at {endpoint} (no network?); "
                         "set HF_HUB_OFFLINE=1 to use what is cached, or pass a local copy (a folder)")


def cuda_available() -> bool:
    """Asks torch itself (imported alone: no transformers, diffusers or datasets, no model)."""
    import torch

    return torch.cuda.is_available()


def resolve_device(requested: str) -> str:
    """`auto` is cuda where CUDA is, else cpu; cpu, cuda and cuda:K stay as asked.  The run's model and every
    scorer's (detector, CLIP, Inception, probe) ask here, so `--device cpu` reaches all of them."""
    requested = str(requested)
    if requested == "auto":
        return "cuda" if cuda_available() else "cpu"
    if requested.partition(":")[0] == "cuda" and not cuda_available():
        raise UsageError(f"--device {requested}: CUDA is not available on this machine; use --device cpu or auto")
    return requested
