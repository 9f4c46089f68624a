"""How much a second CPU-bound job slows a run: wall time idle, and beside one busy process.

    python bench/shared_cpu.py [--limit 64] [--repeats 2] [--busy torch|python] [--source CHECKOUT]

Runs `python -m ddit_eval run --tasks shapes-vqa --limit N` on the embedded tiny model, first
alone, then beside one other CPU-bound process, and prints both times and their ratio.  The other
process is another user's torch job (`--busy torch`: matrix products at torch's default thread
count and wait policy) or a plain Python loop on one core (`--busy python`).  The target is a ratio under 1.5.  `--source` runs the
ddit_eval of another checkout (its folder goes first on PYTHONPATH; see bench/RESULTS.md for how
the figures before the fix were made).  No OMP_* variable is set here: the run chooses.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


BUSY = {"python": "while True: sum(range(10_000))",
        "torch": "import torch\na = torch.randn(384, 384)\nwhile True: a @ a"}


def timed_run(limit: int, source: str | None) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    if source:
        env["PYTHONPATH"] = os.pathsep.join([source, env.get("PYTHONPATH", "")])
    with tempfile.TemporaryDirectory() as out:
        start = time.monotonic()
        # from the temporary folder: `python -m` puts the working folder first on sys.path
        subprocess.run([sys.executable, "-m", "ddit_eval", "run", "--tasks", "shapes-vqa", "--limit", str(limit),
                        "--output-dir", os.path.join(out, "run")], env=env, check=True, capture_output=True, cwd=out)
        return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--busy", choices=sorted(BUSY), default="torch", help="the other job (default: torch)")
    parser.add_argument("--source", help="a checkout whose ddit_eval to run instead of the installed one")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    print(f"machine: {cores} usable cores, {os.uname().machine}; shapes-vqa --limit {args.limit}; "
          f"other job: {args.busy}; source: {args.source or 'installed'}")
    idle = statistics.median(timed_run(args.limit, args.source) for _ in range(args.repeats))
    other_env = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
    other = subprocess.Popen([sys.executable, "-c", BUSY[args.busy]], env=other_env)
    try:
        time.sleep(2)  # let it start computing
        busy = statistics.median(timed_run(args.limit, args.source) for _ in range(args.repeats))
    finally:
        other.kill()
        other.wait()
    print(f"idle {idle:.1f} s | beside one busy process {busy:.1f} s | slowdown {busy / idle:.2f}x (target < 1.5x)")


if __name__ == "__main__":
    main()
