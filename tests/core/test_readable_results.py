"""What a person reads first: a headline line per task, and a compact table per task with splits as columns."""

from ddit_eval.headlines import ablation_lines, headline_line, terminal_summary
from ddit_eval.metric_tables import split_of, task_table
from ddit_eval.schema import RunResults, TaskSummary

POPE_SPLITS = ("adversarial", "popular", "random")


def test_split_names_are_read_as_prefix_or_suffix_longest_first():
    assert split_of("random_yes_ratio", POPE_SPLITS) == ("yes_ratio", "random")
    assert split_of("accuracy_yes_no", ("yes_no", "no", "other")) == ("accuracy", "yes_no")
    assert split_of("empty_answers", POPE_SPLITS) == ("empty_answers", "all")


def test_a_task_table_puts_measures_in_rows_and_splits_in_columns():
    metrics = {"accuracy": 80.0, "f1": None, "random_accuracy": 90.0, "adversarial_accuracy": 70.0,
               "adversarial_f1": 66.5, "empty_answers": 0.0}
    assert task_table("pope", metrics, "accuracy", POPE_SPLITS) == [
        "### pope", "",
        "| metric | all | adversarial | random |", "|---|---|---|---|",
        "| accuracy | **80** | 70 | 90 |",
        "| f1 | n/a | 66.5 |  |",  # undefined overall (0/0), measured in one split, absent in the other
        "| empty_answers | 0 |  |  |"]


def test_a_headline_line_says_value_interval_n_failures_and_empty_answers():
    summary = TaskSummary(metrics={"accuracy": 61.25, "empty_answers": 2.5}, n=40, errors=3, primary="accuracy",
                          intervals={"accuracy": [55.0, 67.5]})
    assert headline_line("vqav2", summary) == ("vqav2: accuracy 61.25, 95% CI [55, 67.5], n=40; 3 failed; "
                                               "empty answers 2.5%")
    assert headline_line("t", TaskSummary(metrics={}, n=0, errors=4, primary="accuracy")) == "t: no sample scored; 4 failed"
    assert headline_line("vqav2-testdev", TaskSummary(metrics={"answered": 5.0}, n=5)) == \
        "vqav2-testdev: nothing scored here (writes a submission file), n=5"
    no_ci = TaskSummary(metrics={"perception": 1200.0}, n=1, primary="perception")
    assert headline_line("mme", no_ci) == "mme: perception 1200, 95% CI n/a, n=1"


def test_an_ablation_is_one_line_per_swept_task_not_one_per_cell(tmp_path):
    cell = TaskSummary(metrics={"accuracy": 50.0}, n=8, primary="accuracy")
    ablation = {"tasks": {"shapes-vqa": {"metric": "accuracy", "cells": [
        {"steps": 4, "value": 50.0, "ci": [40.0, 60.0], "n": 8}, {"steps": 8, "value": 62.5, "ci": None, "n": 8}]}}}
    results = RunResults(tasks={"steps-ablation.shapes-vqa.steps-4": cell, "steps-ablation.shapes-vqa.steps-8": cell,
                                "shapes-pope": cell}, ablations={"steps-ablation": ablation})
    assert ablation_lines("steps-ablation", ablation) == [
        "steps-ablation shapes-vqa: accuracy by steps (n=8): 4: 50 [40, 60], 8: 62.5"]
    assert terminal_summary(results, tmp_path / "report.md").splitlines() == [
        "shapes-pope: accuracy 50, 95% CI n/a, n=8",
        "steps-ablation shapes-vqa: accuracy by steps (n=8): 4: 50 [40, 60], 8: 62.5",
        f"full report: {tmp_path / 'report.md'} (all metrics, notes, plots; --verbose prints it here)"]
