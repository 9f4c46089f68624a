"""Which samples a run scores: all of them, or with --limit N a seeded selection stratified by split.

POPE's rows are sorted by split, so the first 8 are all adversarial; a prefix would silently drop the
other splits.  A task that declares strata (`Task.stratum`) gets N samples spread over its strata in
proportion to their sizes (every stratum at least one while N allows), each stratum's
picks drawn by a hash of (seed, sample id).  The choice depends only on the data, N and the seed: the
same for every world size and batch size.  Tasks without strata keep the first N, in order.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Optional

from .api import Sample, Task


@dataclass(frozen=True)
class Selection:
    samples: list[Sample]
    note: Optional[str] = None  # how a --limit chose them, for the run's notes


def select_samples(task: Task, limit: Optional[int], seed: int = 0) -> Selection:
    """The samples to run, in the task's order; ids must be unique."""
    if limit is None:
        return Selection(_unique(task, list(task.samples())))
    every = _unique(task, list(task.samples()))
    strata = {s.id: task.stratum(s) for s in every}
    if len(every) <= limit or all(v is None for v in strata.values()):
        return Selection(every[:limit])
    groups: dict[str, list[Sample]] = {}
    for sample in every:
        groups.setdefault(str(strata[sample.id]), []).append(sample)
    counts = _allocate({name: len(members) for name, members in groups.items()}, limit)
    picked = {name: _draw_whole_groups(task, members, counts[name], seed) for name, members in groups.items()}
    chosen = {s.id for members in picked.values() for s in members}
    shares = ", ".join(f"{name} {len(picked[name])} of {len(groups[name])}" for name in groups)
    empty = [name for name in groups if not picked[name]]
    note = (f"scored {len(chosen)} samples only (--limit {limit}), a stratified selection by {task.stratum_name} "
            f"(seed {seed}{', whole resampling groups' if len(chosen) > limit else ''}): {shares}")
    if empty:
        note += f"; no sample of {', '.join(empty)} (raise --limit to {len(groups)} or more to reach every one)"
    return Selection([s for s in every if s.id in chosen], note)


def _draw_whole_groups(task: Task, members: list[Sample], count: int, seed: int) -> list[Sample]:
    """`count` samples of a stratum in the seed's order, whole groups at a time (MME's two questions of an image
    stay together, or acc+ would be undefined): the last group may take it past `count`, never short of it."""
    groups: dict[str, list[Sample]] = {}
    for sample in members:
        groups.setdefault(str(task.group_of({**sample.doc, "id": sample.id})), []).append(sample)
    taken: list[Sample] = []
    for name in sorted(groups, key=lambda name: _draw(seed, name)):
        if len(taken) >= count:
            break
        taken += groups[name]
    return taken


def _unique(task: Task, samples: list[Sample]) -> list[Sample]:
    seen: set[str] = set()
    for s in samples:
        if s.id in seen:
            raise ValueError(f"task {task.name!r} yields sample id {s.id!r} twice")
        seen.add(s.id)
    return samples


def _draw(seed: int, sample_id: str) -> str:
    return hashlib.sha256(f"{seed}\0{sample_id}".encode()).hexdigest()


def _allocate(sizes: dict[str, int], limit: int) -> dict[str, int]:
    """`limit` picks over strata of `sizes`, in proportion to size (floors, then largest remainders), every
    stratum at least one while the limit allows (else the largest strata); never more than a stratum holds."""
    names = sorted(sizes, key=lambda name: (-sizes[name], name))
    if limit < len(names):
        return {name: int(name in names[:limit]) for name in sizes}
    total = sum(sizes.values())
    exact = {name: limit * sizes[name] / total for name in sizes}
    counts = {name: max(1, min(int(exact[name]), sizes[name])) for name in sizes}
    while sum(counts.values()) > limit:  # the raised ones took picks: give back where most above the share
        over = max((n for n in names if counts[n] > 1), key=lambda n: counts[n] - exact[n])
        counts[over] -= 1
    while sum(counts.values()) < limit:
        under = max((n for n in names if counts[n] < sizes[n]), key=lambda n: exact[n] - counts[n])
        counts[under] += 1
    return counts
