"""Data-parallel scaling: one `run` at 1 and at N processes (torchrun, gloo on CPU / nccl on GPU).

Prints wall time, samples/s and whether the predictions are identical.  On a 2-core CPU the
speed-up is bounded by the cores (torch already uses both in one process); the figures show the
harness's overhead of splitting, waiting and folding, not what 8 GPUs give.

Run: `python bench/data_parallel.py [--tasks shapes-vqa] [--limit 64] [--procs 2] [--model PATH]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(procs: int, out: Path, args: argparse.Namespace) -> float:
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={procs}"]
                if procs > 1 else [sys.executable])
    cmd = [*launcher, "-m", "ddit_eval", "run", "--tasks", args.tasks, "--limit", str(args.limit),
           "--batch-size", str(args.batch_size), "--output-dir", str(out)] + (["--model", args.model] if args.model else [])
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    if procs > 1:  # share the cores between ranks instead of oversubscribing them
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // procs))
    start = time.monotonic()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    return time.monotonic() - start


def predictions(out: Path) -> dict:
    return {p.name: sorted((r["id"], str(r.get("prediction"))) for r in map(json.loads, p.read_text().splitlines()))
            for p in sorted((out / "samples").glob("*.jsonl"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default="shapes-vqa")
    parser.add_argument("--limit", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--model", help="default: the embedded tiny model")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for procs in (1, args.procs):
            out = Path(tmp) / f"p{procs}"
            wall = run(procs, out, args)
            tasks = json.loads((out / "results.json").read_text())["tasks"].values()
            samples, compute = sum(t["n"] for t in tasks), sum(t["timing"]["compute_s"] for t in tasks)
            rows.append((procs, wall, samples, compute, predictions(out)))
        for procs, wall, samples, compute, _ in rows:
            print(f"processes {procs}: wall {wall:.1f} s (with launcher start-up and model load), {samples / wall:.2f} samples/s; "
                  f"computing the samples {compute:.1f} s, {samples / compute:.2f} samples/s")
        print("identical predictions:", rows[0][4] == rows[1][4])


if __name__ == "__main__":
    main()
