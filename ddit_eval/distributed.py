"""Data-parallel runs under the launchers the field already uses: torchrun, accelerate, SLURM + torchrun.

Both launchers set RANK, WORLD_SIZE and LOCAL_RANK (and the rendezvous address), so a
`python -m ddit_eval run` started by either needs no flag.  Ranks talk through
`torch.distributed` (gloo on CPU, nccl on GPU) only to wait for each other: every
sample's record travels through its rank's own log file in the run folder, which is
also what makes a killed run resumable at any world size.
"""

from __future__ import annotations

import datetime
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Sequence, TypeVar

from .environment import cuda_available

T = TypeVar("T")

# Ranks wait at a barrier while rank 0 scores a task (CIDEr, the GenEval detector): that can be long.
TIMEOUT_ENV = "DDIT_EVAL_DIST_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 6 * 3600
# How often a worker looks whether its launcher is still there, and its exit status once it is gone.
LAUNCHER_POLL_S = 1.0
LAUNCHER_GONE = 1


@dataclass(frozen=True)
class World:
    """This process's place in the run: rank `rank` of `size`, on node-local device index `local_rank`."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def share(self, items: Sequence[T]) -> list[T]:
        """This rank's deterministic share of `items`: every size-th one, from position `rank`."""
        return list(items[self.rank :: self.size])

    def device(self, requested: str) -> str:
        """Under a launcher, `cuda` (and `auto` where CUDA exists) means this rank's own GPU, cuda:LOCAL_RANK."""
        if not self.distributed or requested == "cpu":
            return requested
        if requested == "cuda" or cuda_available():
            return f"cuda:{self.local_rank}"
        return requested

    def barrier(self) -> None:
        if self.distributed:
            import torch.distributed as dist

            dist.barrier()

    def close(self) -> None:
        if self.distributed:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()


def world_from_env() -> World:
    """The launcher's world (RANK / WORLD_SIZE / LOCAL_RANK), with the process group started; 1 process if unset."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    world = World(rank=int(os.environ["RANK"]), size=size, local_rank=int(os.environ.get("LOCAL_RANK", "0")))
    if "TORCHELASTIC_RUN_ID" in os.environ:  # torchrun's (or accelerate's) agent is this worker's parent
        watch_launcher(world.rank)
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        timeout = datetime.timedelta(seconds=float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT_S)))
        if cuda_available():
            torch.cuda.set_device(world.local_rank)
            dist.init_process_group("nccl", timeout=timeout)
        else:
            dist.init_process_group("gloo", timeout=timeout)
    return world


def watch_launcher(rank: int, poll_s: float = LAUNCHER_POLL_S) -> None:
    """Stop this worker within seconds of its launcher's death.

    torchrun starts each worker in a session of its own, so a kill -9 of the launcher alone (a node's OOM
    killer, a scheduler that signals only it) would leave the workers running, rank 0 holding the run lock,
    and a resume refused.  A worker whose parent changed exits at once: what it saved is whole as after any
    kill (logs are appended and fsynced line by line, other files replaced atomically, a torn last line is
    dropped on resume), and the kernel drops the lock's flock with the process.
    """
    launcher = os.getppid()
    if launcher == 1:  # already an orphan (or started by init): no launcher to outlive
        return

    def watch() -> None:
        while os.getppid() == launcher:
            time.sleep(poll_s)
        try:
            print(f"error: rank {rank}: the launcher (process {launcher}) is gone; stopping, what was saved is kept",
                  file=sys.stderr, flush=True)
        except (OSError, ValueError):  # the launcher held the other end of the pipe
            pass
        os._exit(LAUNCHER_GONE)

    threading.Thread(target=watch, name="ddit-eval-launcher-watch", daemon=True).start()
