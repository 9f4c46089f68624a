"""bench/gpu_check.py runs end to end on the CPU with the tiny model and prints every row of its table."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu_check.py"


@pytest.mark.slow
def test_gpu_check_runs_on_the_tiny_model_and_prints_its_table():
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(SCRIPT), "--tiny", "--device", "cpu"], env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {line.split("|")[1].strip(): line for line in done.stdout.splitlines() if line.startswith("| ")}
    assert rows["i2t official batch-1 loop"].count("q/s") == 1
    for batch in (1, 4, 8):
        assert re.search(r"\| [\d.]+ q/s \|", rows[f"i2t backend, batch {batch}"])
    assert re.search(r"\| [\d.]+ img/s \|", rows["t2i 32 px, 28 steps, CFG 7, batch 4"])
    # one call shape: the tiny model's answers and images do not move with the batch on one machine
    assert "| 0/8 answers, 0/8 images differ |" in rows["invariance: batch 3 vs 8 (call_rows 8)"]
    assert re.search(r"\| \d/8 differ \|", rows["dtype: bf16 vs fp32 answers"])
    assert re.search(r"\| [\d.]+ img/s \|", rows["GenEval scorer (detector + CLIP on 4 objects), batch 16"])
    assert re.search(r"\| [\d.]+e[-+]\d+ \|", rows["GenEval scorer: max abs score difference, fp32 vs bf16"])
    assert re.search(r"\| [\d.]+x \|", rows["i2t best exact backend / official loop"])
    assert done.stdout.startswith("CPU ")
