"""Opt-in: the converted GenEval detector against mmdet 2.28.2 itself (bench/geneval_mmdet_parity.py).

Skipped unless DDIT_EVAL_MMDET_PYTHON names the python of a venv with mmdet 2.28.2 and mmcv 1.7.2
(MMCV_WITH_OPS=0); recipe in bench/RESULTS.md.  About 15 minutes on a 2-core CPU.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

MMDET_PYTHON = os.environ.get("DDIT_EVAL_MMDET_PYTHON")
SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "geneval_mmdet_parity.py"


@pytest.mark.slow
@pytest.mark.skipif(not MMDET_PYTHON, reason="set DDIT_EVAL_MMDET_PYTHON to an mmdet 2.28.2 venv's python")
def test_converted_detector_matches_mmdet(tmp_path):
    run = subprocess.run([sys.executable, str(SCRIPT), "--mmdet-python", MMDET_PYTHON, "--workdir", str(tmp_path)],
                         capture_output=True, text=True)
    assert run.returncode == 0 and "PARITY OK" in run.stdout, run.stdout[-4000:] + run.stderr[-4000:]
