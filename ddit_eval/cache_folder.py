"""The one folder ddit-eval keeps caches in, so that none of ours lands in another library's global cache.

`DDIT_EVAL_CACHE` names it; the default is `~/.cache/ddit-eval`.  Local parquet and Arrow data are read
in place and need none of it; what `datasets` must convert (hub data, layouts we cannot read in place)
goes to `<cache>/datasets`.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "DDIT_EVAL_CACHE"


def cache_root() -> Path:
    """Where our caches live: `$DDIT_EVAL_CACHE`, else `~/.cache/ddit-eval` (read at each call: tests move it)."""
    value = os.environ.get(CACHE_ENV, "").strip()
    return Path(value or "~/.cache/ddit-eval").expanduser()


def datasets_cache() -> Path:
    """The `cache_dir` every `datasets.load_dataset` call of ours gets."""
    return cache_root() / "datasets"
