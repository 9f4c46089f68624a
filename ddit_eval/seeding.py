"""Per-sample seeds: a sample's randomness depends only on (run seed, task, sample id)."""

import hashlib


def sample_seed(run_seed: int, task: str, sample_id: str) -> int:
    """A 63-bit seed, independent of batch size, sample order and interruptions."""
    digest = hashlib.sha256(f"{run_seed}\x00{task}\x00{sample_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)
