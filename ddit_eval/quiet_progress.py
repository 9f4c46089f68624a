"""Silence `datasets`' and `huggingface_hub`'s progress bars while we load data, so only our own bar shows.

Their "Generating split" and download bars would interleave with the run's progress bar.  The previous
state is restored afterwards, and a user's explicit `HF_DATASETS_DISABLE_PROGRESS_BARS=0` /
`HF_HUB_DISABLE_PROGRESS_BARS=0` (bars wanted) is left alone: the libraries give it priority and would
warn if asked otherwise.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


@contextmanager
def quiet_library_bars() -> Iterator[None]:
    """Both libraries' bars off inside the block; each back on afterwards only if it was on before."""
    from datasets import config as datasets_config
    from datasets import utils as datasets_utils
    from huggingface_hub import constants as hub_constants
    from huggingface_hub import utils as hub_utils

    switches = []
    if datasets_config.HF_DATASETS_DISABLE_PROGRESS_BARS is None and not datasets_utils.are_progress_bars_disabled():
        datasets_utils.disable_progress_bars()
        switches.append(datasets_utils.enable_progress_bars)
    if hub_constants.HF_HUB_DISABLE_PROGRESS_BARS is None and not hub_utils.are_progress_bars_disabled():
        hub_utils.disable_progress_bars()
        switches.append(hub_utils.enable_progress_bars)
    try:
        yield
    finally:
        for switch_on in switches:
            switch_on()
