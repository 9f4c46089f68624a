"""D-DiT inside lmms-eval: registration, request mapping, and lmms-eval's own evaluator on a local toy task."""

import json
from types import SimpleNamespace

import pytest

pytest.importorskip("lmms_eval")

from lmms_toy import TASK, write_task  # noqa: E402

from ddit_eval.backends import DEFAULT_MODEL  # noqa: E402
from ddit_eval.errors import UsageError  # noqa: E402
from ddit_eval.interop.lmms_model import DDiTLmms, cut_at_stops, ddit_prompt  # noqa: E402
from ddit_eval.prompts import DDIT_VQA  # noqa: E402
from ddit_eval.seeding import sample_seed  # noqa: E402
from ddit_eval.tasks._hub_common import DDIT_VIZWIZ  # noqa: E402


def test_entry_point_registers_ddit_as_a_simple_model():
    from lmms_eval.models import get_model

    assert get_model("ddit") is DDiTLmms and DDiTLmms.is_simple


@pytest.mark.parametrize("context, prompt", [
    ("Is there a dog?\nAnswer the question using a single word or phrase.", DDIT_VQA.format(question="Is there a dog?")),
    ("What is it?\nWhen the provided information is insufficient, respond with 'Unanswerable'.\n"
     "Answer the question using a single word or phrase.", DDIT_VIZWIZ.format(question="What is it?")),
    ("Which option? Answer with the letter.", "Q: Which option? Answer with the letter. A: "),  # its own instruction kept
])
def test_lmms_eval_contexts_become_ddit_prompts(context, prompt):
    assert ddit_prompt(context) == prompt


@pytest.mark.parametrize("until, kept", [(["\n\n"], "yes"), ("\n\n", "yes"), ([".", "\n"], "yes"), ([], "yes\n\nand more.")])
def test_answers_stop_at_lmms_eval_stop_sequences(until, kept):
    assert cut_at_stops(" yes\n\nand more.", until) == kept


@pytest.mark.parametrize("args, named", [({"steps": 0}, "steps=0"), ({"prompt_style": "chat"}, "prompt_style"),
                                         ({"batch_size": "auto"}, "batch_size"), ({"stepz": 3}, "'stepz'")])
def test_bad_model_args_fail_before_loading(args, named):
    with pytest.raises(UsageError, match=named):
        DDiTLmms(pretrained="/no/such/checkpoint", **args)


class Recorder:
    """A backend that records the requests it gets and answers with their prompts' length."""

    def __init__(self):
        self.calls = []

    def prepare(self, request):
        return request

    def answer(self, requests):
        self.calls.append(list(requests))
        return [f"{len(r.prompt)}\n\nrest" for r in requests]


def _instance(doc_id, gen_kwargs, task="toy", context="Is it red?\nAnswer the question using a single word or phrase."):
    from PIL import Image

    return SimpleNamespace(args=(context, gen_kwargs, lambda doc: [Image.new("RGB", (8, 8))], doc_id, task, "test"))


def _model(**args):
    model = DDiTLmms(pretrained="double:pixel", **args)
    model.backend = Recorder()
    model.task_dict = {"toy": {"test": {0: {}, 1: {}, 2: {}}}}
    return model


def test_requests_map_to_batched_answer_requests():
    model = _model(batch_size=2, seed=5)
    answers = model.generate_until([_instance(i, {"max_new_tokens": 16, "until": ["\n\n"]}) for i in range(3)])
    assert [len(call) for call in model.backend.calls] == [2, 1]
    first = model.backend.calls[0][0]
    assert first.prompt == DDIT_VQA.format(question="Is it red?") and answers[0] == str(len(first.prompt))  # cut at "until"
    assert (first.answer_length, first.steps, first.seed) == (16, None, sample_seed(5, "toy", "test/0"))


def test_explicit_settings_win_over_max_new_tokens():
    model = _model(steps=8, answer_length=4, prompt_style="lmms-eval")
    model.generate_until([_instance(0, {"max_new_tokens": 128}), _instance(1, {"max_new_tokens": 128, "steps": 2, "answer_length": 3})])
    a, b = model.backend.calls[0]
    assert (a.answer_length, a.steps, b.answer_length, b.steps) == (4, 8, 3, 2)
    assert a.prompt.startswith("Is it red?\n")  # lmms-eval's context as it is


def test_repeated_documents_get_their_own_seeds():
    model = _model()
    model.generate_until([_instance(0, {}), _instance(0, {})])
    assert [r.seed for r in model.backend.calls[0]] == [sample_seed(0, "toy", "test/0"), sample_seed(0, "toy", "test/0#1")]


def test_loglikelihood_names_the_alternative():
    with pytest.raises(NotImplementedError, match="generate_until version"):
        _model().loglikelihood([])


# --------------------------------------------------------------------------- lmms-eval's own evaluator


@pytest.fixture(scope="module")
def toy_runs(tmp_path_factory):
    """lmms-eval's simple_evaluate on the toy task with the tiny model, at batch sizes 1 and 4, files written as its CLI does."""
    from lmms_eval.evaluator import simple_evaluate
    from lmms_eval.loggers import EvaluationTracker
    from lmms_eval.tasks import TaskManager

    root = tmp_path_factory.mktemp("lmms")
    manager = TaskManager("WARNING", include_path=str(write_task(root / "task", 4)), include_defaults=False)
    runs = {}
    for batch_size in (1, 4):
        tracker = EvaluationTracker(output_path=str(root / f"out{batch_size}"))
        results = simple_evaluate(model="ddit", model_args=f"pretrained={DEFAULT_MODEL},steps=2,answer_length=2,device=cpu",
                                  tasks=[TASK], batch_size=batch_size, task_manager=manager, evaluation_tracker=tracker,
                                  bootstrap_iters=0, log_samples=True)
        samples = results.pop("samples")
        tracker.save_results_aggregated(results=results, samples=samples, datetime_str="20260101_000000")
        tracker.save_results_samples(task_name=TASK, samples=samples[TASK])
        runs[batch_size] = root / f"out{batch_size}"
    return runs


def _read(folder):
    [results] = folder.rglob("*_results.json")
    [samples] = folder.rglob("*_samples_*.jsonl")
    return json.loads(results.read_text()), [json.loads(line) for line in samples.read_text().splitlines()]


def test_answers_do_not_depend_on_batch_size(toy_runs):
    (one, lines_one), (four, lines_four) = _read(toy_runs[1]), _read(toy_runs[4])
    assert len(lines_one) == 4
    assert [line["filtered_resps"] for line in lines_one] == [line["filtered_resps"] for line in lines_four]
    assert one["results"][TASK]["pope_accuracy,none"] == four["results"][TASK]["pope_accuracy,none"]
    assert one["config"]["model_backend"].startswith("ddit_eval.interop.lmms_model.DDiTLmms")


def test_our_files_have_the_structure_of_lmms_eval_files(toy_runs, tmp_path):
    theirs, their_lines = _read(toy_runs[1])
    assert main_run(tmp_path) == 0
    ours, our_lines = _read(tmp_path / "lmms-eval")
    # token accounting exists only in an lmms-eval run
    assert set(theirs) - {"usage", "efficiency", "throughput"} <= set(ours)
    for key in ("configs", "n-samples", "higher_is_better", "n-shot", "versions", "group_subtasks"):
        assert isinstance(ours[key], dict) and set(ours[key]) == set(ours["results"]), key
    assert set(ours["n-samples"]["shapes-pope"]) == set(theirs["n-samples"][TASK])
    config_keys = {"model", "model_args", "batch_size", "device", "limit", "gen_kwargs"}
    assert config_keys <= set(theirs["config"]) and config_keys <= set(ours["config"])
    for metrics in (ours["results"]["shapes-pope"], theirs["results"][TASK]):
        assert metrics["alias"] and all(k == "alias" or k.endswith(",none") for k in metrics)
    shared = {"doc_id", "target", "filtered_resps", "token_counts", "doc_hash", "input"}
    assert set(their_lines[0]) - {"pope_accuracy"} == shared  # then each metric's per-sample value
    assert set(our_lines[0]) - {"accuracy"} == shared | {"ddit_eval_id", "ddit_eval_seed"}
    for ours_line, their_line in ((our_lines[0], their_lines[0]), (our_lines[1], their_lines[1])):
        assert {k: type(ours_line[k]) for k in shared} == {k: type(their_line[k]) for k in shared}


def main_run(out):
    from ddit_eval.cli import main

    return main(["run", "--tasks", "shapes-pope", "--model", "double:pixel", "--limit", "4", "--log-format", "lmms-eval",
                 "--output-dir", str(out)])


def test_lmms_eval_reads_our_samples_as_a_baseline(tmp_path):
    """lmms-eval's --baseline loader pairs a ddit-eval run with its own by doc_id and reads the results beside it."""
    from lmms_eval.baselines.loader import load_baseline

    assert main_run(tmp_path) == 0
    [samples] = (tmp_path / "lmms-eval").rglob("*_samples_shapes-pope.jsonl")
    scores, aggregated = load_baseline(str(samples), "shapes-pope")
    lines = [json.loads(line) for line in samples.read_text().splitlines()]
    assert sorted(scores) == [line["doc_id"] for line in lines]
    assert scores == {line["doc_id"]: float(line["filtered_resps"] == line["target"]) for line in lines}
    assert aggregated["results"]["shapes-pope"]["accuracy,none"] == json.loads(
        (tmp_path / "results.json").read_text())["tasks"]["shapes-pope"]["metrics"]["accuracy"]
