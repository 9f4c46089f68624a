"""Data-parallel runs under torchrun (gloo on CPU).

Results must not depend on the world size, and a run killed at one world size must resume at
another with no sample lost or computed twice.  The launcher tests start real process groups.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.harness import descendants

from ddit_eval.backends import load_backend_model
from ddit_eval.distributed import World
from ddit_eval.registry import TASKS, include_path
from ddit_eval.runner import RunOptions, TaskRunner

PLUGINS = Path(__file__).parent / "plugins"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _torchrun(n: int, *args: str, **kwargs):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={n}",
           "-m", "ddit_eval", "run", *args]
    return subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def _single(*args: str):
    return subprocess.run([sys.executable, "-m", "ddit_eval", "run", *args], env=ENV, capture_output=True, text=True,
                          timeout=600)


def _records(run: Path, task: str) -> dict[str, dict]:
    lines = (run / "samples" / f"{task}.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert len({r["id"] for r in records}) == len(records), "an id appears twice"
    return {r["id"]: r for r in records}


def _comparable(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "prediction" or not isinstance(v, list)}


# --------------------------------------------------------------------------- in-process: the share and the fold


class _Rank(World):
    """A rank of a pretend world: its barrier is a no-op, so ranks can be played one after another."""

    def barrier(self) -> None:
        pass


def _toy(n=30):
    include_path(PLUGINS)
    return TASKS.get("toy-colors")(num_samples=n)


def test_each_rank_takes_a_disjoint_share_and_rank_0_scores_the_union(tmp_path):
    model, options = load_backend_model("double:pixel?wrong=0.2"), RunOptions(batch_size=4, loader_workers=0)
    samples = list(_toy().samples())
    shares = [_Rank(k, 2).share(samples) for k in range(2)]
    assert [s.id for s in shares[1]] == [f"c{i:04d}" for i in range(1, 30, 2)]
    for rank in (1, 0):  # both ranks compute their share after the barrier, each into its own log
        TaskRunner(model, tmp_path, options, _Rank(rank, 2))._compute(_toy(), shares[rank], 0, 30)
    assert len((tmp_path / "samples/toy-colors.rank1.jsonl").read_text().splitlines()) == 15
    outcome = TaskRunner(model, tmp_path, options, _Rank(0, 2)).run(_toy())  # nothing left: fold and score
    assert not list((tmp_path / "samples").glob("*.rank*.jsonl"))  # folded into the task's log
    single = TaskRunner(model, tmp_path / "single", options).run(_toy())
    assert outcome.summary.metrics == single.summary.metrics and outcome.summary.n == 30
    assert [r["prediction"] for r in outcome.records] == [r["prediction"] for r in single.records]


def test_rank_logs_left_by_a_killed_run_are_folded_at_any_world_size(tmp_path):
    model, options = load_backend_model("double:pixel"), RunOptions(batch_size=4, loader_workers=0)
    for rank in range(4):  # a 4-rank run that died after each rank's first batch
        runner = TaskRunner(model, tmp_path, RunOptions(batch_size=4, loader_workers=0, limit=None), _Rank(rank, 4))
        runner._compute(_toy(), list(_toy().samples())[rank::4][:4], 0, 30)
    logged = sum(len((tmp_path / f"samples/toy-colors.rank{k}.jsonl").read_text().splitlines()) for k in range(4))
    assert logged == 16
    calls = []
    model.answer = (lambda original: lambda requests: calls.extend(r.id for r in requests) or original(requests))(model.answer)
    outcome = TaskRunner(model, tmp_path, options).run(_toy())  # resumed by one process
    assert outcome.summary.n == 30 and len(calls) == 14  # only the 14 samples no rank had finished
    assert len(_records(tmp_path, "toy-colors")) == 30


def test_a_failing_rank_says_which_rank_and_what_it_had_finished(tmp_path, monkeypatch, capsys):
    from ddit_eval.results import SampleLog

    real_append, calls = SampleLog.append, []

    def append(self, records):  # the third batch hits a full disk
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real_append(self, records)

    monkeypatch.setattr(SampleLog, "append", append)
    with pytest.raises(OSError):
        TaskRunner(load_backend_model("double:pixel"), tmp_path, RunOptions(batch_size=2, loader_workers=0), _Rank(1, 2)).run(_toy(12))
    assert "rank 1 of 2 failed in task 'toy-colors' after 4 of its 6 samples" in capsys.readouterr().err
    assert len((tmp_path / "samples/toy-colors.rank1.jsonl").read_text().splitlines()) == 4


# --------------------------------------------------------------------------- torchrun, gloo on CPU


@pytest.mark.slow
def test_two_processes_give_the_one_process_results_on_the_tiny_model(tmp_path):
    """Also at other batch sizes (3 per rank, 8 in one process): every network call runs at one shape."""
    args = ["--tasks", "shapes-vqa,shapes-geneval", "--limit", "6", "--loader-workers", "0"]
    proc = _torchrun(2, *args, "--batch-size", "3", "--output-dir", str(tmp_path / "two"))
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-3000:]
    single = _single(*args, "--batch-size", "8", "--output-dir", str(tmp_path / "one"))
    assert single.returncode == 0, single.stderr[-3000:]
    one, two = (json.loads((tmp_path / d / "results.json").read_text()) for d in ("one", "two"))
    for task in ("shapes-vqa", "shapes-geneval"):
        assert two["tasks"][task]["metrics"] == one["tasks"][task]["metrics"]
        a, b = _records(tmp_path / "one", task), _records(tmp_path / "two", task)
        assert {k: _comparable(r) for k, r in a.items()} == {k: _comparable(r) for k, r in b.items()}
    for image in (tmp_path / "one/samples/shapes-geneval").iterdir():  # generated pixels are identical too
        assert image.read_bytes() == (tmp_path / "two/samples/shapes-geneval" / image.name).read_bytes()
    assert two["tasks"]["shapes-vqa"]["timing"]["world_size"] == 2
    assert "world_size" not in json.loads((tmp_path / "two/run.json").read_text())  # resumable at any size


@pytest.mark.slow
def test_kill_9_of_the_group_resumes_at_another_world_size(tmp_path):
    args = ["--include-path", str(PLUGINS), "--tasks", "toy-colors", "--set", "num_samples=240",
            "--model", "double:pixel?delay=0.05&wrong=0.3", "--batch-size", "4", "--loader-workers", "0"]
    proc = _torchrun(2, *args, "--output-dir", str(tmp_path / "killed"))
    deadline = time.monotonic() + 300
    samples = tmp_path / "killed/samples"
    while time.monotonic() < deadline:
        logged = sum(len(p.read_text().splitlines()) for p in samples.glob("toy-colors.rank*.jsonl")) if samples.exists() else 0
        if logged >= 40:
            break
        time.sleep(0.2)
    for pid in [proc.pid, *descendants(proc.pid)]:  # the launcher and its workers (their own sessions), at once
        os.kill(pid, signal.SIGKILL)
    proc.communicate()
    assert 40 <= logged < 240, "the run must be killed part-way"
    assert len(list(samples.glob("toy-colors.rank*.jsonl"))) == 2

    resumed = _single(*args, "--output-dir", str(tmp_path / "killed"))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    whole = _single(*args, "--output-dir", str(tmp_path / "whole"))
    assert whole.returncode == 0
    got, want = _records(tmp_path / "killed", "toy-colors"), _records(tmp_path / "whole", "toy-colors")
    assert len(got) == 240 and {k: r["prediction"] for k, r in got.items()} == {k: r["prediction"] for k, r in want.items()}
    assert not list(samples.glob("*.rank*.jsonl"))
    results = [json.loads((tmp_path / d / "results.json").read_text())["tasks"]["toy-colors"] for d in ("killed", "whole")]
    assert results[0]["metrics"] == results[1]["metrics"] and results[0]["n"] == 240


@pytest.mark.slow
def test_accelerate_launch_needs_no_other_flag(tmp_path):
    """accelerate's multi-process launcher (gloo on this CPU) sets the same RANK / WORLD_SIZE / LOCAL_RANK."""
    args = ["--tasks", "shapes-vqa", "--model", "double:pixel?wrong=0.3", "--limit", "40", "--loader-workers", "0"]
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "ddit_eval", "run", *args,
           "--output-dir", str(tmp_path / "two")]
    launched = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600)
    assert launched.returncode == 0, launched.stderr[-3000:]
    assert _single(*args, "--output-dir", str(tmp_path / "one")).returncode == 0
    two = json.loads((tmp_path / "two/results.json").read_text())["tasks"]["shapes-vqa"]
    one = json.loads((tmp_path / "one/results.json").read_text())["tasks"]["shapes-vqa"]
    assert two["timing"]["world_size"] == 2 and two["timing"]["rank0_computed_samples"] == 20
    assert two["metrics"] == one["metrics"]
    assert _records(tmp_path / "two", "shapes-vqa") == _records(tmp_path / "one", "shapes-vqa")
