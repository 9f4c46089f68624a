"""Thread counts come from the cores this process may use, and OpenMP waits passively."""

import os
import subprocess
import sys

import pytest

from ddit_eval.cpu_threads import compute_threads, prefer_passive_waiting, set_torch_threads, usable_cores


def test_compute_threads_shares_cores_among_ranks_and_leaves_one_to_the_loaders():
    assert compute_threads(16, 1, 0) == 16
    assert compute_threads(16, 1, 4) == 15
    assert compute_threads(16, 2, 4) == 7
    assert compute_threads(2, 1, 4) == 1
    assert compute_threads(2, 2, 4) == 1
    assert compute_threads(1, 1, 4) == 1
    assert compute_threads(3, 4, 0) == 1


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this OS")
def test_usable_cores_follow_the_affinity_mask_not_the_machine():
    code = ("import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); "
            "from ddit_eval.cpu_threads import usable_cores, set_torch_threads; import torch; "
            "print(usable_cores(), set_torch_threads(None, 4), torch.get_num_threads())")
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["1", "1", "1"]


def test_an_explicit_count_or_omp_num_threads_wins(monkeypatch):
    import torch

    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("OMP_NUM_THREADS", "3")
        assert set_torch_threads(None, 4) == 3 == torch.get_num_threads()
        assert set_torch_threads(2, 4) == 2 == torch.get_num_threads()
        monkeypatch.delenv("OMP_NUM_THREADS")
        monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
        assert set_torch_threads(None, 0) == max(1, usable_cores() // 2)
    finally:
        torch.set_num_threads(before)


def test_the_command_line_asks_openmp_to_wait_passively_before_torch_loads():
    code = ("import os, sys; from ddit_eval.cli import main; main(['list-tasks']); "
            "print(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split()[-2:] == ["PASSIVE", "False"]


def test_a_users_wait_policy_is_kept(monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    prefer_passive_waiting()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_a_run_records_its_threads_and_gives_the_callers_count_back(tmp_path):
    import json

    import torch

    from ddit_eval.cli import main

    before = torch.get_num_threads()
    assert main(["run", "--tasks", "shapes-vqa", "--model", "double:pixel", "--limit", "4", "--threads", "1",
                 "--output-dir", str(tmp_path / "run")]) == 0
    assert torch.get_num_threads() == before
    cpu = json.loads((tmp_path / "run" / "results.json").read_text())["timing"]["cpu"]
    assert cpu["torch_threads"] == 1 and cpu["usable_cores"] == usable_cores()
