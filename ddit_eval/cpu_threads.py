"""How many CPU threads a run computes with, and how they wait.

Torch's OpenMP threads spin while they wait for work.  On a machine that another job shares,
a spinning thread holds a core the other job needs, and one run on 2 cores took 11x as long.
So the command line (1) asks OpenMP to wait passively, which must be said before torch is first
imported, and (2) sizes torch's pool from the cores this process may run on (its CPU affinity,
not the machine's count), shared among the ranks on this node, leaving one of them to the
loader threads.  An OMP_NUM_THREADS or OMP_WAIT_POLICY the user set is kept.
"""

from __future__ import annotations

import os
import sys


def prefer_passive_waiting() -> None:
    """OMP_WAIT_POLICY=PASSIVE unless the user chose one; only effective before torch is imported."""
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def usable_cores() -> int:
    """Cores this process may run on: its affinity mask where the OS has one."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def compute_threads(cores: int, ranks_on_node: int = 1, loader_workers: int = 0) -> int:
    """Torch threads for one rank: its share of the cores, less one core for the loader threads when
    there are any and the share has a core to spare; never below 1.  Measured on 2 cores (shapes-vqa,
    64 samples): 1 thread 18.8 s idle, 19.2 s beside a busy process; 2 passive threads 34.5 s idle
    (each op waits for a sleeping thread to wake); 2 spinning threads 12.5 s idle, 25.9 s beside it."""
    share = max(1, cores // max(1, ranks_on_node))
    return max(1, share - (1 if loader_workers > 0 and share > 1 else 0))


def ranks_on_this_node() -> int:
    """LOCAL_WORLD_SIZE, which torchrun and accelerate set for each worker; 1 otherwise."""
    value = os.environ.get("LOCAL_WORLD_SIZE", "1").strip()
    return int(value) if value.isdigit() and int(value) > 0 else 1


def set_torch_threads(requested: int | None, loader_workers: int) -> int:
    """Set torch's thread count: `requested` (--threads), else OMP_NUM_THREADS if set, else
    `compute_threads` of the usable cores.  Returns the count in force."""
    import torch

    if requested is None and os.environ.get("OMP_NUM_THREADS", "").strip().isdigit():
        requested = int(os.environ["OMP_NUM_THREADS"]) or None
    threads = requested or compute_threads(usable_cores(), ranks_on_this_node(), loader_workers)
    torch.set_num_threads(threads)
    return threads


def torch_threads_now() -> int | None:
    """Torch's thread count, or None while torch is not imported (then there is nothing to restore)."""
    return sys.modules["torch"].get_num_threads() if "torch" in sys.modules else None


def restore_torch_threads(threads: int | None) -> None:
    """Give an in-process caller (a notebook, a test) its own thread count back after a run."""
    if threads is not None:
        sys.modules["torch"].set_num_threads(threads)


def thread_facts() -> dict:
    """What a result's notes record about CPU threading (it changes speed, never results)."""
    import torch

    return {"torch_threads": torch.get_num_threads(), "usable_cores": usable_cores(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}
