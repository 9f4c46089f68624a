"""One torch thread for the tiny-model test packages, where it is the fastest setting.

Tiny models run fastest on one thread, and do not stall when the 2 cores are shared (4x faster here under load)."""

from contextlib import contextmanager

import torch


@contextmanager
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
