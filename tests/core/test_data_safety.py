"""Data that gets lost: `--overwrite` over files that are not a run's, a failed start's clean-up over another
process's run, and data-parallel workers that outlive their launcher while holding the run lock."""

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.harness import descendants

from ddit_eval.run_folder import RunFolder

PLUGINS = Path(__file__).parent / "plugins"
TOY = ["--tasks", "toy-colors", "--set", "num_samples=6"]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _error_lines(err):
    assert "Traceback" not in err, err
    return [line for line in err.splitlines() if line.startswith("error: ")]


# ----------------------------------------------------------------------------- --overwrite removes only a run's files


def test_overwrite_refuses_a_folder_that_holds_no_run(cli, tmp_path):
    mine = tmp_path / "od/samples/mine.txt"
    mine.parent.mkdir(parents=True)
    mine.write_text("x\n")
    code, _, err = cli("run", *TOY, "--model", "double:pixel", "--output-dir", tmp_path / "od", "--overwrite")
    assert mine.read_text() == "x\n"
    assert code == 2 and len(_error_lines(err)) == 1 and "holds no ddit-eval run" in err
    assert sorted(p.name for p in (tmp_path / "od").iterdir()) == ["samples"]  # nothing left behind either


def test_overwrite_of_an_empty_or_missing_folder_starts_a_run(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    assert cli("run", *TOY, "--model", "double:pixel", "--output-dir", tmp_path / "empty", "--overwrite")[0] == 0
    assert cli("run", *TOY, "--model", "double:pixel", "--output-dir", tmp_path / "new", "--overwrite")[0] == 0


def test_overwrite_keeps_the_users_files_beside_a_run(cli, tmp_path):
    base = ["run", "--model", "double:pixel", "--output-dir", tmp_path, "--set", "num_samples=6"]
    assert cli(*base, "--tasks", "toy-draw,toy-colors")[0] == 0
    assert (tmp_path / "samples/toy-draw").is_dir()
    (tmp_path / "samples/toy-colors.rank1.jsonl").write_text("")  # as a killed data-parallel run leaves it
    user = {tmp_path / "samples/mine.txt": "x\n", tmp_path / "notes.md": "my notes\n"}
    for path, text in user.items():
        path.write_text(text)
    assert cli(*base, "--tasks", "toy-colors", "--seed", 9, "--overwrite")[0] == 0
    assert {p: p.read_text() for p in user} == user
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["mine.txt", "toy-colors.jsonl"]
    assert list(json.loads((tmp_path / "run.json").read_text())["tasks"]) == ["toy-colors"]


def test_the_folder_names_what_a_run_wrote(cli, tmp_path):
    base = ["run", "--model", "double:pixel", "--limit", 4, "--output-dir", tmp_path]
    assert cli(*base, "--tasks", "shapes-pope")[0] == 0
    (tmp_path / "mine.txt").write_text("x")
    written = {str(p.relative_to(tmp_path)) for p in RunFolder(tmp_path).run_paths()}
    assert written == {"run.json", "results.json", "report.md", "metrics.png", "shapes-pope.png",
                       "samples/shapes-pope.jsonl", "report.html", "report_files"}


def test_score_overwrite_refuses_a_folder_that_holds_no_run(cli, tmp_path):
    preds = tmp_path / "preds.jsonl"
    preds.write_text(json.dumps({"id": "c0000", "prediction": "black"}) + "\n")
    mine = tmp_path / "od/samples/mine.txt"
    mine.parent.mkdir(parents=True)
    mine.write_text("x\n")
    code, _, err = cli("score", "--task", "toy-colors", "--predictions", preds, "--output-dir", tmp_path / "od",
                       "--overwrite")
    assert code == 2 and len(_error_lines(err)) == 1 and mine.read_text() == "x\n"
    scored = tmp_path / "scored"  # a score's folder (results.json, no run.json) is a run of ours
    assert cli("score", "--task", "toy-colors", "--predictions", preds, "--output-dir", scored)[0] == 0
    assert cli("score", "--task", "toy-colors", "--predictions", preds, "--output-dir", scored, "--overwrite")[0] == 0


# ----------------------------------------------------------------------------- only the lock's holder removes anything


def _hold_lock(path: Path):
    """Another process's lock on `path` (flock conflicts across open files, even in one process)."""
    handle = open(path / ".lock", "a+")
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    handle.write("4242\n")
    handle.flush()
    return handle


def test_a_start_that_loses_the_lock_removes_nothing(cli, tmp_path, monkeypatch):
    """B saw no folder, then A created it and took the lock: B's failed start must leave A's run alone."""
    out, real, held = tmp_path / "run", RunFolder.ensure_writable, []

    def meanwhile_a_starts(self, what="output dir"):
        real(self, what)
        (self.path / "run.json").write_text("{}\n")
        held.append(_hold_lock(self.path))

    monkeypatch.setattr(RunFolder, "ensure_writable", meanwhile_a_starts)
    code, _, err = cli("run", *TOY, "--model", "double:pixel", "--output-dir", out)
    assert code == 2 and "in use by another run (process 4242)" in err
    assert (out / "run.json").read_text() == "{}\n" and (out / ".lock").read_text() == "4242\n"
    held[0].close()


def test_a_start_that_finds_another_finished_run_removes_nothing(cli, tmp_path, monkeypatch):
    """B saw no folder; A ran and finished there before B took the lock: B's refusal must not remove A's run."""
    out, real = tmp_path / "run", RunFolder.ensure_writable
    finished = tmp_path / "finished"
    assert cli("run", *TOY, "--model", "double:pixel", "--seed", 5, "--output-dir", finished)[0] == 0

    def meanwhile_a_runs(self, what="output dir"):
        real(self, what)
        for name in ("run.json", "results.json"):
            (self.path / name).write_bytes((finished / name).read_bytes())

    monkeypatch.setattr(RunFolder, "ensure_writable", meanwhile_a_runs)
    code, _, err = cli("run", *TOY, "--model", "double:pixel", "--output-dir", out)
    assert code == 2 and "other settings (seed: 5 -> 0)" in err
    assert (out / "run.json").read_bytes() == (finished / "run.json").read_bytes()
    assert (out / "results.json").is_file()


# ----------------------------------------------------------------------------- workers die with their launcher


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its new parent's wait is missing


@pytest.mark.slow
def test_workers_exit_when_their_launcher_is_killed(tmp_path):
    n = 320  # 8 s of work per rank: killed after the first few batches, a worker that goes on is caught
    args = ["run", "--include-path", str(PLUGINS), "--tasks", "toy-colors", "--set", f"num_samples={n}",
            "--model", "double:pixel?delay=0.05&wrong=0.3", "--batch-size", "4", "--loader-workers", "0",
            "--output-dir", str(tmp_path / "run")]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m", "ddit_eval"]
    launcher = subprocess.Popen([*torchrun, *args], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples = tmp_path / "run/samples"

    def logged() -> int:
        return sum(p.read_bytes().count(b"\n") for p in samples.glob("toy-colors.rank*.jsonl"))

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and logged() < 16:
        time.sleep(0.05)
    workers = descendants(launcher.pid)
    os.kill(launcher.pid, signal.SIGKILL)  # the launcher only, as an OOM killer or a scheduler does
    launcher.wait()
    assert len(workers) == 2, "both workers must be running when the launcher is killed"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(map(_alive, workers)):
        time.sleep(0.1)
    left = [pid for pid in workers if _alive(pid)]
    for pid in left:  # not to leave them behind the test
        os.kill(pid, signal.SIGKILL)
    assert not left, "a worker outlived its launcher by 10 s"
    assert 16 <= logged() < n and not (tmp_path / "run/results.json").exists(), "the workers ran on to the end"

    resumed = subprocess.run([sys.executable, "-m", "ddit_eval", *args], env=ENV, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    records = [json.loads(line) for line in (samples / "toy-colors.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in records) == [f"c{i:04d}" for i in range(n)]
    assert json.loads((tmp_path / "run/results.json").read_text())["tasks"]["toy-colors"]["n"] == n


def test_a_lock_taken_on_a_removed_lock_file_is_refused(tmp_path, monkeypatch):
    """A process that opened .lock just before another start's clean-up removed it must not go on holding a
    lock on a deleted file (a third process would then lock a new .lock beside it)."""
    import fcntl

    from ddit_eval.errors import UsageError
    from ddit_eval.results import RunLock

    lock = RunLock(tmp_path)
    real_flock = fcntl.flock

    def flock_after_removal(handle, flags):
        lock.path.unlink()  # the clean-up of a failed start ran between open and flock
        return real_flock(handle, flags)

    monkeypatch.setattr(fcntl, "flock", flock_after_removal)
    with pytest.raises(UsageError, match="removed or replaced while this run started"):
        lock.acquire()
    monkeypatch.setattr(fcntl, "flock", real_flock)
    again = RunLock(tmp_path).acquire()
    assert again.path.exists()
    again.release()
