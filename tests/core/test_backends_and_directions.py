"""Model backends come from a registry; `compare` knows each metric's direction and
prints the smallest drop the sample count can detect."""

import json
from pathlib import Path

import numpy as np
import pytest

from ddit_eval.api import ANSWER
from ddit_eval.metrics.base import Metric
from ddit_eval.backends import BACKENDS, Backend, backend_for, register_backend
from ddit_eval.bootstrap import min_detectable_drop
from ddit_eval.doubles import load_double
from ddit_eval.registry import TASKS, include_path, register_task

include_path(Path(__file__).parent / "plugins")
ToyColors = TASKS.get("toy-colors")


def _answers_only(spec, device, dtype, mask_embedding):
    model = load_double("double:pixel")
    model.name = f"answers-only:{spec}"
    return model


register_backend(Backend("answers-only", frozenset({ANSWER}), _answers_only))


@register_task
class ToyColorsWithErrorRate(ToyColors):
    """toy-colors plus `error_rate`, a metric where lower is better, beside higher-is-better `accuracy`."""

    name = "toy-colors-error-rate"

    def evaluate(self, records):
        base = super().evaluate(records)
        error_rate = ErrorRate()
        error_rate.update([p["accuracy"] for p in base.per_sample])
        return base.plus(error_rate)


class ErrorRate(Metric):
    """100 - accuracy: the direction is the metric class's own, and reaches results and `compare` from there."""

    lower_is_better = frozenset({"error_rate"})

    def __init__(self) -> None:
        super().__init__()
        self.add_state("accuracy", [])

    def update(self, accuracy) -> None:
        self.accuracy.extend(accuracy)

    def compute(self):
        return {"error_rate": 100.0 - sum(self.accuracy) / len(self.accuracy)}

    def per_sample(self):
        return [{"error_rate": 100.0 - a} for a in self.accuracy]


def test_a_third_backend_registers_without_touching_the_core(cli, tmp_path):
    assert {"ddit", "double", "answers-only"} <= set(BACKENDS.names())
    assert backend_for("answers-only:anything")[0].name == "answers-only"
    assert backend_for("owner/name")[0].name == "ddit" and backend_for("double:pixel")[0].name == "double"
    code, _, _ = cli("run", "--tasks", "toy-colors", "--model", "answers-only:x", "--output-dir", tmp_path / "ok")
    assert code == 0
    assert json.loads((tmp_path / "ok/results.json").read_text())["config"]["model_config"]["name"] == "answers-only:x"


def test_a_task_the_backend_cannot_serve_is_one_line_before_any_work(cli, tmp_path, monkeypatch):
    monkeypatch.setattr("ddit_eval.cli.load_backend_model", lambda *a, **k: pytest.fail("the model must not load"))
    code, _, err = cli("run", "--tasks", "toy-draw", "--model", "answers-only:x", "--output-dir", tmp_path / "no")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "cannot serve task 'toy-draw' (generate_images requests)" in err
    assert not (tmp_path / "no").exists()


@pytest.fixture(scope="module")
def direction_runs(tmp_path_factory):
    from ddit_eval.cli import main

    root = tmp_path_factory.mktemp("directions")
    for name, wrong in [("base", 0.05), ("worse", 0.4)]:
        assert main(["run", "--tasks", "toy-colors-error-rate", "--model", f"double:pixel?wrong={wrong}",
                     "--set", "num_samples=200", "--output-dir", str(root / name)]) == 0
    return root


def test_results_record_the_direction_of_each_metric(direction_runs):
    summary = json.loads((direction_runs / "base/results.json").read_text())["tasks"]["toy-colors-error-rate"]
    assert summary["lower_is_better"] == ["error_rate"] and "higher_is_better" not in summary


def test_compare_gates_each_metric_its_own_way(cli, direction_runs):
    code, out, err = cli("compare", direction_runs / "base", direction_runs / "worse")
    rows = {line.split("|")[2].strip(): line for line in out.splitlines() if line.startswith("| toy-colors-error-rate")}
    # accuracy fell and error_rate rose: both are the worse side, so both fail (a task-wide direction
    # would have called the rise in error_rate an improvement)
    assert "| lower | FAIL |" in rows["error_rate"] and "| higher | FAIL |" in rows["accuracy"]
    assert "FAIL toy-colors-error-rate.error_rate" in err and code == 1
    code, out, _ = cli("compare", direction_runs / "worse", direction_runs / "base")
    assert code == 0 and "FAIL" not in out


def test_detectable_drop_is_z_alpha_plus_z_power_standard_errors():
    # two-sided alpha 0.05: z = 1.959964; power 0.8: z = 0.841621; sum 2.801585
    assert min_detectable_drop(1.0, 0.05) == pytest.approx(2.801585, abs=1e-6)
    assert min_detectable_drop(0.5, 0.05) == pytest.approx(1.4007925, abs=1e-6)
    # alpha 0.10: 1.644854 + 0.841621
    assert min_detectable_drop(2.0, 0.10) == pytest.approx(2 * 2.486475, abs=1e-5)


def test_compare_prints_the_detectable_drop_of_its_sample_count(cli, direction_runs):
    _, out, _ = cli("compare", direction_runs / "base", direction_runs / "worse")
    line = next(l for l in out.splitlines() if l.startswith("| toy-colors-error-rate | accuracy |"))
    printed = float(line.split("|")[8])
    base, worse = ({r["id"]: r["scores"]["accuracy"] for r in map(json.loads, (direction_runs / d / "samples" /
                   "toy-colors-error-rate.jsonl").read_text().splitlines())} for d in ("base", "worse"))
    diffs = np.array([worse[i] - base[i] for i in base])
    expected = 2.801585 * diffs.std(ddof=1) / np.sqrt(len(diffs))
    assert printed == pytest.approx(expected, rel=2e-3)
    assert "smallest true drop this many samples detect at alpha 0.05 with 80% power" in out
