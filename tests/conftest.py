"""Shared test set-up: nothing may reach the network."""

import os
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# our caches (converted datasets, GenEval metadata) in a folder of the session's own, never the user's home
os.environ["DDIT_EVAL_CACHE"] = tempfile.mkdtemp(prefix="ddit-eval-test-cache-")
# Torch's OpenMP threads would spin while they wait and stall the suite on a shared machine
# (ddit_eval/cpu_threads.py); this must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
