import json
import time
from pathlib import Path

import pytest
from PIL import Image

from helpers.harness import run_subprocess, samples

TOY = ["--tasks", "toy-colors,toy-draw", "--model", "double:pixel"]


def _predictions(run_dir, task):
    return {r["id"]: r["prediction"] for r in samples(run_dir, task)}


def test_run_writes_results_samples_report_and_plot(cli, tmp_path):
    code, out, err = cli("run", *TOY, "--output-dir", tmp_path, "--set", "toy-colors.num_samples=12", "--seed", "3")
    assert code == 0
    assert "[toy-colors] 12/12 samples" in err and "samples/s" in err  # not a terminal: plain log lines
    results = json.loads((tmp_path / "results.json").read_text())
    colors = results["tasks"]["toy-colors"]
    assert colors["primary"] == "accuracy" and colors["n"] == 12 and colors["metrics"]["accuracy"] == 100.0
    assert results["config"]["tasks"]["toy-colors"]["settings"]["num_samples"] == 12  # --set is recorded
    assert results["config"]["seed"] == 3 and results["config"]["model_config"]["name"] == "double-pixel"
    assert {"python", "torch", "diffusers", "transformers", "datasets", "ddit_eval", "git_commit"} <= set(results["versions"])
    record = samples(tmp_path, "toy-colors")[0]
    assert {"id", "seed", "question", "answer", "prediction", "scores"} <= set(record)
    assert record["prompt"] == "Q: What colour is the square? A: "  # the text the model saw, template applied
    assert results["timing"]["total_s"] >= results["timing"]["model_load_s"] >= 0
    assert results["tasks"]["toy-colors"]["timing"]["computed_samples"] == 12
    drawn = samples(tmp_path, "toy-draw")[0]["prediction"]
    assert len(drawn) == 2 and (tmp_path / "samples" / drawn[0]).is_file()
    report = (tmp_path / "report.md").read_text()
    assert "| toy-colors | accuracy | 100 | [100, 100] | 12 | 0 |" in report  # every sample right: the CI is a point
    assert "### toy-colors\n\n| metric | all |\n|---|---|\n| accuracy | **100** |" in report
    assert results["schema_version"] == 2 and colors["intervals"] == {"accuracy": [100.0, 100.0]}
    assert (tmp_path / "metrics.png").stat().st_size > 1000
    assert "toy-draw" in out


def test_batch_size_does_not_change_predictions(cli, tmp_path):
    for bs in (1, 8):
        code, _, _ = cli("run", *TOY, "--model", "double:pixel?wrong=0.3", "--batch-size", bs, "--output-dir", tmp_path / f"bs{bs}")
        assert code == 0
    assert _predictions(tmp_path / "bs1", "toy-colors") == _predictions(tmp_path / "bs8", "toy-colors")
    assert "unknown" in _predictions(tmp_path / "bs1", "toy-colors").values()  # the seeded noise did act
    for rec1, rec8 in zip(samples(tmp_path / "bs1", "toy-draw"), samples(tmp_path / "bs8", "toy-draw")):
        for p1, p8 in zip(rec1["prediction"], rec8["prediction"]):
            assert (tmp_path / "bs1/samples" / p1).read_bytes() == (tmp_path / "bs8/samples" / p8).read_bytes()


def test_seed_changes_seeded_predictions(cli, tmp_path):
    for seed in (0, 1):
        cli("run", "--tasks", "toy-colors", "--model", "double:pixel?wrong=0.5", "--seed", seed, "--output-dir", tmp_path / str(seed))
    assert _predictions(tmp_path / "0", "toy-colors") != _predictions(tmp_path / "1", "toy-colors")


def test_corrupt_image_and_model_failure_are_recorded_errors(cli, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for i in range(6):
        Image.new("RGB", (32, 32), (220, 40, 40)).save(images / f"c{i:04d}.png")
    (images / "c0002.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    code, _, _ = cli("run", "--tasks", "toy-colors", "--model", "double:pixel?fail=c0004", "--set", "num_samples=6",
                     "--set", f"image_dir={images}", "--output-dir", tmp_path / "run")
    assert code == 0
    records = {r["id"]: r for r in samples(tmp_path / "run", "toy-colors")}
    assert "UnidentifiedImageError" in records["c0002"]["error"] and "prediction" not in records["c0002"]
    assert "planted model failure" in records["c0004"]["error"]
    assert all("prediction" in records[i] for i in ("c0000", "c0001", "c0003", "c0005"))  # batch-mates unharmed
    summary = json.loads((tmp_path / "run/results.json").read_text())["tasks"]["toy-colors"]
    assert summary["n"] == 4 and summary["errors"] == 2
    assert "c0002" in (tmp_path / "run/report.md").read_text()


def test_max_errors_stops_the_run_and_keeps_results(cli, tmp_path):
    code, _, err = cli("run", "--tasks", "toy-colors", "--model", "double:pixel?fail=c00", "--max-errors", "3",
                       "--batch-size", "2", "--output-dir", tmp_path)
    assert code == 1 and "--max-errors 3" in err
    assert len(samples(tmp_path, "toy-colors")) == 4  # two batches recorded before stopping


def test_retry_errors_recomputes_failed_samples(cli, tmp_path):
    cli("run", "--tasks", "toy-colors", "--model", "double:pixel?fail=c0001", "--set", "num_samples=3", "--output-dir", tmp_path)
    assert "error" in samples(tmp_path, "toy-colors")[1]
    (tmp_path / "run.json").unlink()  # same settings but a mended model
    code, _, _ = cli("run", "--tasks", "toy-colors", "--model", "double:pixel", "--set", "num_samples=3",
                     "--output-dir", tmp_path, "--retry-errors")
    assert code == 0
    assert [r.get("prediction") for r in samples(tmp_path, "toy-colors")] == ["black", "yellow", "white"]


def test_resume_skips_recorded_samples_and_refuses_other_settings(cli, tmp_path):
    cli("run", "--tasks", "toy-colors", "--model", "double:pixel", "--output-dir", tmp_path)
    log = tmp_path / "samples/toy-colors.jsonl"
    lines = log.read_text().splitlines()
    kept = [json.loads(x) for x in lines[:10]]
    kept[0]["prediction"] = "marker-not-recomputed"
    log.write_text("".join(json.dumps(r) + "\n" for r in kept) + lines[10][:15])  # + a torn line
    code, _, _ = cli("run", "--tasks", "toy-colors", "--model", "double:pixel", "--output-dir", tmp_path, "--batch-size", 3)
    assert code == 0
    records = samples(tmp_path, "toy-colors")
    assert [r["id"] for r in records] == [f"c{i:04d}" for i in range(40)]
    assert records[0]["prediction"] == "marker-not-recomputed"
    code, _, err = cli("run", "--tasks", "toy-colors", "--model", "double:pixel", "--output-dir", tmp_path, "--seed", 9)
    assert code == 2 and "other settings (seed: 0 -> 9)" in err and "--overwrite" in err
    code, _, err = cli("run", "--tasks", "toy-colors", "--model", "double:pixel", "--output-dir", tmp_path,
                       "--set", "num_samples=41")
    assert code == 2 and "(toy-colors.num_samples: 40 -> 41)" in err  # named as --set names it
    code, _, _ = cli("run", "--tasks", "toy-colors", "--model", "double:pixel", "--output-dir", tmp_path, "--seed", 9, "--overwrite")
    assert code == 0 and samples(tmp_path, "toy-colors")[0]["prediction"] != "marker-not-recomputed"


def test_recorded_settings_compare_as_json_reads_them(tmp_path):
    """A tuple setting reads back from run.json as a list; that is the same run, not other settings."""
    from ddit_eval.errors import UsageError
    from ddit_eval.run_folder import RunFolder

    RunFolder(tmp_path).start({"tasks": {"t": {"sizes": (1, 2)}}}, overwrite=False)
    RunFolder(tmp_path).start({"tasks": {"t": {"sizes": (1, 2)}}}, overwrite=False)
    with pytest.raises(UsageError, match=r"other settings \(t.sizes: \[1, 2\] -> \[1, 3\]\)"):
        RunFolder(tmp_path).start({"tasks": {"t": {"sizes": (1, 3)}}}, overwrite=False)


@pytest.mark.slow
def test_resume_after_kill_9_equals_an_uninterrupted_run(tmp_path):
    args = ["run", *TOY, "--model", "double:pixel?delay=0.01&wrong=0.2", "--set", "toy-colors.num_samples=300",
            "--include-path", Path(__file__).parent / "plugins", "--batch-size", "4"]
    full = run_subprocess(*args, "--output-dir", tmp_path / "full")
    assert full.wait(timeout=120) == 0, full.stderr.read()

    killed_at = []
    for kill_after_lines in (20, 140, 260):
        proc = run_subprocess(*args, "--output-dir", tmp_path / "resumed")
        log = tmp_path / "resumed/samples/toy-colors.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if log.exists() and log.read_bytes().count(b"\n") >= kill_after_lines:
                break
            time.sleep(0.005)
        proc.kill()  # SIGKILL: no clean-up code runs
        proc.wait()
        killed_at.append(log.read_bytes().count(b"\n"))
    assert killed_at[0] < 300  # the kills landed mid-run
    last = run_subprocess(*args, "--output-dir", tmp_path / "resumed")
    assert last.wait(timeout=120) == 0, last.stderr.read()

    for task in ("toy-colors", "toy-draw"):
        full_records = samples(tmp_path / "full", task)
        resumed = samples(tmp_path / "resumed", task)
        assert [r["id"] for r in resumed] == [r["id"] for r in full_records]  # none missing, none duplicated
        if task == "toy-colors":
            assert [r["prediction"] for r in resumed] == [r["prediction"] for r in full_records]
            assert [r["scores"] for r in resumed] == [r["scores"] for r in full_records]
    full_metrics = json.loads((tmp_path / "full/results.json").read_text())["tasks"]
    resumed_metrics = json.loads((tmp_path / "resumed/results.json").read_text())["tasks"]
    assert {t: m["metrics"] for t, m in full_metrics.items()} == {t: m["metrics"] for t, m in resumed_metrics.items()}


def test_default_output_dirs_never_collide(tmp_path, monkeypatch):
    """Two runs started in the same second must not resume into each other's folder."""
    from ddit_eval.run_folder import RunFolder

    monkeypatch.chdir(tmp_path)
    first = RunFolder.new("some/ckpt/").path
    first.mkdir(parents=True)
    second = RunFolder.new("some/ckpt/").path
    assert first.parent == second.parent == Path("runs") and first.name.endswith("-ckpt")
    assert second != first and not second.exists()


def test_overwrite_removes_the_previous_runs_plots(cli, tmp_path):
    """A plot of a task the new run does not have must not survive --overwrite as if it were new."""
    base = ["run", "--model", "double:pixel", "--limit", 4, "--output-dir", tmp_path]
    assert cli(*base, "--tasks", "shapes-pope")[0] == 0
    assert json.loads((tmp_path / "results.json").read_text())["plots"] == {"shapes-pope": ["shapes-pope.png"]}
    assert (tmp_path / "shapes-pope.png").is_file()
    assert cli(*base, "--tasks", "shapes-vqa", "--overwrite")[0] == 0
    assert (tmp_path / "shapes-vqa.png").is_file() and not (tmp_path / "shapes-pope.png").exists()
