"""Failures never pass silently, and nothing the user has is lost or overwritten unasked: a run with no scored
sample fails, `compare` gates only like with like, and `score`, locks, full disks and damaged logs keep data."""

import errno
import fcntl
import json
import os
import shlex
import shutil

import numpy as np
import pytest
from PIL import Image

from ddit_eval.results import read_jsonl
from helpers.harness import samples
from helpers.yesno_reference import MME_PERCEPTION, mme_scores

TOY = ["--tasks", "toy-colors", "--set", "num_samples=6"]


def _error_lines(err):
    assert "Traceback" not in err, err
    return [line for line in err.splitlines() if line.startswith("error: ")]


# ----------------------------------------------------------------------------- failures that pass


def test_a_task_with_no_scored_sample_fails_the_run_and_says_why(cli, tmp_path):
    code, out, err = cli("run", "--tasks", "toy-colors,toy-draw", "--set", "toy-colors.num_samples=3",
                         "--model", "double:pixel?fail=c0", "--output-dir", tmp_path)
    assert code == 1
    assert _error_lines(err) == ["error: toy-colors: no sample scored (3 failed), e.g. RuntimeError: planted model "
                                 "failure on 'c0000'"]
    results = json.loads((tmp_path / "results.json").read_text())["tasks"]
    assert results["toy-colors"]["n"] == 0 and results["toy-draw"]["n"] == 6  # the other task still ran
    assert "toy-colors: no sample scored; 3 failed" in out.splitlines()
    assert "| toy-colors | accuracy | no sample scored | n/a | 0 | 3 |" in (tmp_path / "report.md").read_text()


def test_the_console_gets_a_line_per_task_and_the_report_its_notes_and_errors(cli, tmp_path):
    code, out, _ = cli("run", *TOY, "--model", "double:pixel?fail=c0001", "--limit", 4, "--output-dir", tmp_path)
    assert code == 0
    summary = json.loads((tmp_path / "results.json").read_text())["tasks"]["toy-colors"]
    low, high = summary["intervals"]["accuracy"]
    accuracy = summary["metrics"]["accuracy"]
    assert out.splitlines() == [f"toy-colors: accuracy {accuracy:.4g}, 95% CI [{low:.4g}, {high:.4g}], n=3; 1 failed",
                                f"full report: {tmp_path / 'report.md'} (all metrics, notes, plots; --verbose prints it here)",
                                f"sample browser: {tmp_path / 'report.html'}"]
    report = (tmp_path / "report.md").read_text()
    assert "toy-colors: scored 3 of 4 samples; 1 failed" in report
    assert "scored the first 4 samples only (--limit 4)" in report
    assert "toy-colors `c0001`: RuntimeError: planted model failure" in report
    code, out, _ = cli("run", *TOY, "--model", "double:pixel?fail=c0001", "--limit", 4, "--output-dir", tmp_path, "--verbose")
    assert code == 0 and "toy-colors `c0001`: RuntimeError: planted model failure" in out and "## Plots" not in out


# ----------------------------------------------------------------------------- the gate


@pytest.fixture(scope="module")
def toy_runs(tmp_path_factory):
    from ddit_eval.cli import main

    root = tmp_path_factory.mktemp("gate")
    variants = {"base": [], "limited": ["--limit", "5"], "steps": ["--set", "toy-colors.steps=5"],
                "batch": ["--batch-size", "3"]}
    for name, extra in variants.items():
        argv = ["run", "--tasks", "toy-colors,toy-draw", "--model", "double:pixel?wrong=0.05", "--set",
                "toy-colors.num_samples=60", *extra, "--output-dir", str(root / name)]
        assert main(argv) == 0
    assert main(["run", "--tasks", "toy-colors", "--model", "double:pixel?wrong=0.05", "--set", "num_samples=60",
                 "--output-dir", str(root / "one-task")]) == 0
    return root


@pytest.mark.parametrize("candidate, reason", [
    ("limited", "limit differs (baseline None, candidate 5); toy-colors: sample ids differ (baseline 60, candidate 5, 5 shared)"),
    ("one-task", "tasks differ (baseline toy-colors, toy-draw; candidate toy-colors)"),
    ("steps", "toy-colors: protocol settings differ (settings.steps)"),
])
def test_compare_fails_a_candidate_that_is_not_the_baselines_experiment(cli, toy_runs, candidate, reason):
    code, out, err = cli("compare", toy_runs / "base", toy_runs / candidate)
    assert code == 1 and "| toy-colors | accuracy |" in out  # what they share is still shown
    fails = [line for line in err.splitlines() if line.startswith("FAIL")]
    assert len(fails) == 1 and fails[0].startswith("FAIL candidate does not match the baseline: ")
    assert reason in fails[0] and "--allow-mismatch" in fails[0]
    code, out, err = cli("compare", toy_runs / "base", toy_runs / candidate, "--allow-mismatch")
    assert code == 0 and "FAIL" not in err and "note: gated on what the runs share" in out


def test_a_mismatch_is_reported_beside_a_failed_metric(cli, toy_runs, tmp_path):
    from ddit_eval.cli import main

    assert main(["run", "--tasks", "toy-colors,toy-draw", "--model", "double:pixel?wrong=0.6", "--set",
                 "toy-colors.num_samples=60", "--limit", "50", "--output-dir", str(tmp_path / "worse")]) == 0
    code, _, err = cli("compare", toy_runs / "base", tmp_path / "worse")
    assert code == 1 and "FAIL toy-colors.accuracy" in err and "FAIL candidate does not match the baseline: limit" in err


def test_compare_ignores_speed_settings(cli, toy_runs):
    code, out, err = cli("compare", toy_runs / "base", toy_runs / "batch")
    assert code == 0 and "FAIL" not in err + out


@pytest.fixture(scope="module")
def headline_runs(tmp_path_factory):
    from ddit_eval.cli import main

    root = tmp_path_factory.mktemp("headline")
    for name, model in [("good", "double:pixel"), ("worse", "double:pixel?wrong=0.3")]:
        assert main(["run", "--tasks", "shapes-mme,shapes-geneval", "--model", model, "--set", "shapes-mme.num_images=24",
                     "--set", "shapes-geneval.prompts_per_tag=4", "--set", "shapes-geneval.images_per_prompt=2",
                     "--output-dir", str(root / name)]) == 0
    return root


def _metrics(run_dir, task):
    return json.loads((run_dir / "results.json").read_text())["tasks"][task]["metrics"]


def test_mme_perception_is_gated_by_a_cluster_bootstrap_over_images(cli, headline_runs):
    code, out, err = cli("compare", headline_runs / "good", headline_runs / "worse")
    assert code == 1 and "FAIL shapes-mme.perception: dropped" in err
    row = next(line for line in out.splitlines() if line.startswith("| shapes-mme | perception |"))
    good, worse = _metrics(headline_runs / "good", "shapes-mme"), _metrics(headline_runs / "worse", "shapes-mme")
    assert f"| 24 | {good['perception']:.4g} | {worse['perception']:.4g} |" in row  # 24 images, the runs' own values
    assert "paired cluster bootstrap over 24 groups" in out
    code, out, _ = cli("compare", headline_runs / "good", headline_runs / "good")
    assert code == 0 and "| shapes-mme | perception | 24 |" in out and "[+0, +0]" in out


def test_geneval_overall_is_gated_from_stored_scores_without_the_detector(cli, headline_runs, tmp_path):
    for name in ("good", "worse"):
        shutil.copytree(headline_runs / "good", tmp_path / name)
        shutil.rmtree(tmp_path / name / "samples" / "shapes-geneval")  # no image left to detect anything in
    log = tmp_path / "good/samples/shapes-geneval.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    log.write_text("".join(json.dumps({**r, "scores": {"correct_images": 1.0}}) + "\n" for r in records))
    code, out, err = cli("compare", tmp_path / "good", tmp_path / "worse")
    assert code == 1 and "FAIL shapes-geneval.overall" in err
    overall = _metrics(headline_runs / "good", "shapes-geneval")["overall"]
    assert f"| shapes-geneval | overall | 24 | 1 | {overall:.4g} |" in out


def test_headline_aggregates_equal_the_recorded_metrics(headline_runs):
    from ddit_eval.registry import TASKS

    for task, settings in [("shapes-mme", {"num_images": 24}), ("shapes-geneval", {"prompts_per_tag": 4, "images_per_prompt": 2})]:
        records = samples(headline_runs / "worse", task)
        recorded = _metrics(headline_runs / "worse", task)
        again = TASKS.get(task)(**settings).aggregate(records)
        assert again.keys() >= {TASKS.get(task).primary_metric}
        assert again == pytest.approx({k: v for k, v in recorded.items() if k in again})
        assert again[TASKS.get(task).primary_metric] == pytest.approx(official_headline(headline_runs / "worse", task))


def official_headline(run_dir, task):
    """The headline by its benchmark's own definition, from what the run stored (not from the task's code).

    MME (calculation.py): perception sums acc + acc+ over the perception categories, from the sample log's answers;
    GenEval (summary_scores.py): the mean over tags of each tag's share of correct images, from the per-image
    rows of the official-format results file.
    """
    if task == "shapes-mme":
        records = samples(run_dir, task)
        scores = mme_scores([r["prediction"] for r in records], [r["answer"] for r in records],
                            [r["category"] for r in records], [r["question_id"] for r in records])
        return sum(score for category, score in scores.items() if category in MME_PERCEPTION)
    by_tag = {}
    for row in read_jsonl(run_dir / f"{task}_results.jsonl"):
        by_tag.setdefault(row["tag"], []).append(row["correct"])
    return float(np.mean([np.mean(correct) for correct in by_tag.values()]))


def test_headlines_are_the_benchmarks_own_definitions(headline_runs):
    for name in ("good", "worse"):
        for task, key in (("shapes-mme", "perception"), ("shapes-geneval", "overall")):
            assert _metrics(headline_runs / name, task)[key] == pytest.approx(official_headline(headline_runs / name, task))


def test_a_group_drawn_twice_counts_as_two_images_for_acc_plus():
    """MME acc+ pairs an image's questions by question_id; a duplicated image must not merge into one."""
    from ddit_eval.bootstrap import groups_of, resampled_records
    from ddit_eval.registry import TASKS

    mme = TASKS.get("shapes-mme")()

    def record(image, j, right):
        return {"id": f"{image}-{j}", "question_id": image, "category": "count", "answer": "Yes",
                "prediction": "Yes" if right else "No", "scores": {}}

    groups = groups_of(mme, [record("a", 0, True), record("a", 1, False), record("b", 0, True), record("b", 1, True)])
    assert mme.aggregate(resampled_records(groups, ["a", "b", "b"]))["count_acc_plus"] == pytest.approx(200 / 3)
    assert mme.aggregate(resampled_records(groups, ["a", "b"]))["count_acc_plus"] == pytest.approx(50)


def test_a_headline_of_an_unknown_task_is_a_note_not_a_crash(cli, toy_runs, tmp_path):
    for name in ("a", "b"):
        results = json.loads((toy_runs / "base/results.json").read_text())
        ghost = results["tasks"].pop("toy-colors")
        results["tasks"] = {"ghost-task": {**ghost, "primary": "macro"}}
        results["config"]["tasks"] = {"ghost-task": results["config"]["tasks"]["toy-colors"]}
        (tmp_path / name / "samples").mkdir(parents=True)
        (tmp_path / name / "results.json").write_text(json.dumps(results))
        shutil.copy(toy_runs / "base/samples/toy-colors.jsonl", tmp_path / name / "samples/ghost-task.jsonl")
    code, out, _ = cli("compare", tmp_path / "a", tmp_path / "b")
    assert code == 0 and "| ghost-task | accuracy | 60 |" in out
    assert "note: ghost-task.macro: not gateable (unknown task 'ghost-task'" in out


# ----------------------------------------------------------------------------- data that gets lost


def test_score_refuses_an_existing_run_and_never_truncates_its_predictions(cli, tmp_path):
    run = tmp_path / "run"
    assert cli("run", *TOY, "--model", "double:pixel", "--output-dir", run)[0] == 0
    before = {p: p.read_bytes() for p in (run / "results.json", run / "samples/toy-colors.jsonl")}
    preds = run / "samples/toy-colors.jsonl"
    code, _, err = cli("score", "--task", "toy-colors", "--set", "num_samples=6", "--predictions", preds, "--output-dir", run)
    assert code == 2 and _error_lines(err) == [f"error: --output-dir {str(run)!r} already holds a run; use another "
                                               "folder, or --overwrite to replace it"]
    code, _, err = cli("score", "--task", "toy-colors", "--set", "num_samples=6", "--predictions", preds,
                       "--output-dir", run, "--overwrite")
    assert code == 2 and "holds the predictions file" in err
    assert {p: p.read_bytes() for p in before} == before

    other = tmp_path / "other"
    assert cli("run", "--tasks", "toy-draw", "--model", "double:pixel", "--output-dir", other)[0] == 0
    code, out, _ = cli("score", "--task", "toy-colors", "--set", "num_samples=6", "--predictions", preds,
                       "--output-dir", other, "--overwrite")
    assert code == 0 and not (other / "samples/toy-draw.jsonl").exists()  # the old run is replaced as a whole
    assert list(json.loads((other / "results.json").read_text())["tasks"]) == ["toy-colors"]


def test_score_says_what_it_scored_and_where_the_results_went(cli, tmp_path):
    preds = tmp_path / "preds.jsonl"
    preds.write_text(json.dumps({"id": "c0000", "prediction": "black"}) + "\n")
    code, out, _ = cli("score", "--task", "toy-colors", "--predictions", preds, "--output-dir", tmp_path / "scored")
    assert code == 0
    accuracy = json.loads((tmp_path / "scored/results.json").read_text())["tasks"]["toy-colors"]["metrics"]["accuracy"]
    assert accuracy in (0.0, 100.0)
    assert out.splitlines()[0] == f"toy-colors: accuracy {accuracy:.4g}, 95% CI n/a, n=1"  # n=1: nothing to resample
    assert f"full report: {tmp_path / 'scored' / 'report.md'}" in out
    report = (tmp_path / "scored" / "report.md").read_text()
    assert f"# ddit-eval score: {preds.resolve()}" in report and "run: ?" not in report and "seed None" not in report
    assert "scored 1 of 40 samples" in report and "accuracy: no 95% interval (n=1: nothing to resample)" in report


def test_a_second_process_on_the_same_folder_gets_one_line(cli, tmp_path):
    tmp_path.mkdir(exist_ok=True)
    with open(tmp_path / ".lock", "a+") as other:  # another process's lock: flock conflicts across open files
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        other.write("4242\n")
        other.flush()
        code, _, err = cli("run", *TOY, "--model", "double:pixel", "--output-dir", tmp_path)
        assert code == 2 and _error_lines(err) == [
            f"error: {str(tmp_path)!r} is in use by another run (process 4242); wait for it to finish or use another --output-dir"]
        assert not (tmp_path / "samples").exists() and not (tmp_path / "run.json").exists()
    assert cli("run", *TOY, "--model", "double:pixel", "--output-dir", tmp_path)[0] == 0  # free again


@pytest.mark.parametrize("model", ["double:nosuch", "EMPTY_CHECKPOINT"])
def test_a_failed_model_load_leaves_no_folder_behind(cli, tmp_path, model):
    if model == "EMPTY_CHECKPOINT":
        model = tmp_path / "not-a-checkpoint"
        model.mkdir()
    out = tmp_path / "runs" / "new"
    code, _, err = cli("run", *TOY, "--model", model, "--output-dir", out)
    assert code == 2 and len(_error_lines(err)) == 1 and not out.exists()
    kept = tmp_path / "kept"
    assert cli("run", *TOY, "--model", "double:pixel", "--output-dir", kept)[0] == 0
    assert cli("run", *TOY, "--model", model, "--output-dir", kept, "--overwrite")[0] == 2
    assert kept.is_dir()  # a folder that existed before is never removed


def test_report_skips_folders_without_results(cli, tmp_path):
    assert cli("run", *TOY, "--model", "double:pixel", "--output-dir", tmp_path / "run")[0] == 0
    (tmp_path / "empty").mkdir()
    code, out, err = cli("report", tmp_path / "run", tmp_path / "empty", "--output", tmp_path / "cmp")
    assert code == 0 and "run" in out
    assert f"warning: skipping {str(tmp_path / 'empty')!r}: not a run folder (no results.json)" in err


# ----------------------------------------------------------------------------- one line, not a traceback


def _forbid_model_load(monkeypatch):
    def load(*args, **kwargs):
        raise AssertionError("the model was loaded before the problem was reported")

    monkeypatch.setattr("ddit_eval.cli.load_backend_model", load)


@pytest.mark.parametrize("damage, message", [
    (lambda lines: lines[:2] + ["{garbage"] + lines[2:], "toy-colors.jsonl:3: corrupt line in the middle of the file"),
    (lambda lines: lines[:4] + [lines[1]] + lines[4:], "toy-colors.jsonl:5: id 'c0001' appears twice (first on line 2)"),
])
def test_a_damaged_sample_log_is_one_line_before_the_model_loads(cli, tmp_path, monkeypatch, damage, message):
    assert cli("run", *TOY, "--model", "double:pixel", "--output-dir", tmp_path)[0] == 0
    log = tmp_path / "samples/toy-colors.jsonl"
    log.write_text("\n".join(damage(log.read_text().splitlines())) + "\n")
    _forbid_model_load(monkeypatch)
    code, _, err = cli("run", *TOY, "--model", "double:pixel", "--output-dir", tmp_path)
    lines = _error_lines(err)
    assert code == 2 and len(lines) == 1 and message in lines[0] and str(log) in lines[0]


def test_a_full_disk_is_one_line_and_the_run_resumes(cli, tmp_path, monkeypatch):
    from ddit_eval.results import SampleLog

    real_append, calls = SampleLog.append, []

    def append(self, records):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        real_append(self, records)

    monkeypatch.setattr(SampleLog, "append", append)
    args = ["run", "--tasks", "toy-colors", "--set", "num_samples=20", "--batch-size", 4, "--model", "double:pixel?wrong=0.3"]
    code, _, err = cli(*args, "--output-dir", tmp_path / "full")
    assert code == 1 and _error_lines(err) == [
        f"error: No space left on device writing {tmp_path / 'full/samples/toy-colors.jsonl'}; what was saved is kept: "
        f"free space, then resume with: {_resume_line(err)}"]
    assert len(samples(tmp_path / "full", "toy-colors")) == 8  # two batches were saved
    monkeypatch.setattr(SampleLog, "append", real_append)
    assert cli(*args, "--output-dir", tmp_path / "full")[0] == 0
    assert cli(*args, "--output-dir", tmp_path / "clean")[0] == 0
    assert samples(tmp_path / "full", "toy-colors") == samples(tmp_path / "clean", "toy-colors")


def _resume_line(err):
    return err.split("resume it with:\n  ", 1)[1].splitlines()[0]


def test_missing_java_is_reported_before_any_caption(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on it
    _forbid_model_load(monkeypatch)
    code, _, err = cli("run", "--tasks", "shapes-vqa,shapes-caption", "--model", "double:pixel", "--output-dir", tmp_path / "run")
    assert code == 2 and len(_error_lines(err)) == 1 and "need Java on PATH" in err
    assert not (tmp_path / "run").exists()
    preds = tmp_path / "preds.jsonl"
    preds.write_text(json.dumps({"id": "caption-00000", "prediction": "a red circle"}) + "\n")
    code, _, err = cli("score", "--task", "shapes-caption", "--predictions", preds, "--output-dir", tmp_path / "scored")
    assert code == 2 and "need Java on PATH" in err and not (tmp_path / "scored").exists()


# ----------------------------------------------------------------------------- small things


def test_the_resume_command_is_printed_at_start_and_on_interrupt_and_resumes(cli, tmp_path, monkeypatch):
    from ddit_eval.runner import TaskRunner

    real_run = TaskRunner.run
    monkeypatch.setattr(TaskRunner, "run", lambda self, task: (_ for _ in ()).throw(KeyboardInterrupt()))
    out_dir = tmp_path / "my run"
    code, _, err = cli("run", *TOY, "--model", "double:pixel", "--seed", 3, "--output-dir", out_dir, "--overwrite")
    command = _resume_line(err)
    assert code == 130 and f"interrupted; what was saved is kept: resume with: {command}" in err
    argv = shlex.split(command)
    assert argv[1:4] == ["-m", "ddit_eval", "run"] and "--overwrite" not in argv
    assert argv[-2:] == ["--output-dir", str(out_dir)] and argv[argv.index("--seed") + 1] == "3"
    monkeypatch.setattr(TaskRunner, "run", real_run)
    (out_dir / "samples").mkdir(exist_ok=True)
    marker = {"id": "c0000", "seed": 1, "question": "What colour is the square?", "answer": "black", "prediction": "marker"}
    (out_dir / "samples/toy-colors.jsonl").write_text(json.dumps(marker) + "\n")
    assert cli(*argv[3:])[0] == 0  # the printed command resumes the same run folder
    assert samples(out_dir, "toy-colors")[0]["prediction"] == "marker"


def test_report_shows_n_limit_and_errors_and_flags_partial_runs(cli, tmp_path):
    assert cli("run", *TOY, "--model", "double:pixel", "--output-dir", tmp_path / "full")[0] == 0
    assert cli("run", *TOY, "--model", "double:pixel", "--limit", 2, "--output-dir", tmp_path / "limited")[0] == 0
    assert cli("run", *TOY, "--model", "double:pixel?fail=c0001", "--output-dir", tmp_path / "broken")[0] == 0
    code, out, _ = cli("report", tmp_path / "full", tmp_path / "limited", tmp_path / "broken", "--output", tmp_path / "cmp")
    assert code == 0
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in out.splitlines()
            if line.startswith("| ") and "---" not in line}
    assert rows["run"][-4:] == ["n", "limit", "errors", "flag"]
    assert rows["full"][-4:] == ["6", "", "0", ""]
    assert rows["limited"][-4:] == ["2", "2", "0", "--limit 2: first samples only"]
    assert rows["broken"][-4:] == ["5", "", "1", "1 sample errors"]
    assert "--limit 2: first samples only" in (tmp_path / "cmp.md").read_text()


def test_report_plots_stay_narrow_and_give_each_metric_its_own_colour(tmp_path):
    import numpy as np
    import pandas as pd
    from matplotlib.colors import to_hex

    from ddit_eval import reports

    metrics = [f"m{i}" for i in range(25)]
    table = pd.DataFrame(np.random.default_rng(0).random((10, 25)), index=[f"run{i}" for i in range(10)],
                         columns=[f"task/{m}" for m in metrics])
    written = reports.write_comparison(table, tmp_path / "cmp")
    with Image.open(tmp_path / "cmp-task.png") as image:
        assert image.width <= 1200
    fig = reports.task_figure(table.rename(columns=lambda c: c.split("/")[1]), "task")
    handles = fig.axes[0].get_legend().legend_handles
    assert len({to_hex(h.get_facecolor()) for h in handles}) == 25
    assert tmp_path / "cmp-task.png" in written


def test_result_files_are_readable_by_others_as_the_umask_allows(tmp_path):
    from ddit_eval.results import write_json_atomic

    for umask, mode in [(0o022, 0o644), (0o027, 0o640)]:
        old = os.umask(umask)
        try:
            write_json_atomic(tmp_path / f"r{umask:o}.json", {"x": 1})
        finally:
            os.umask(old)
        assert (tmp_path / f"r{umask:o}.json").stat().st_mode & 0o777 == mode


def test_loading_the_model_draws_no_progress_bar_and_leaves_them_as_they_were(capfd):
    import transformers.utils.logging as transformers_logging

    from ddit_eval.backends import DEFAULT_MODEL
    from ddit_eval.model.loader import load_model

    capfd.readouterr()
    load_model(DEFAULT_MODEL, device="cpu")
    assert "Loading" not in capfd.readouterr().err
    assert transformers_logging.is_progress_bar_enabled()  # silenced only around our loading
