"""Frozen, typed task settings: parsed by declared type, canonical lists, one-line refusals, `describe`."""

import dataclasses
import subprocess
import sys

import pytest

from ddit_eval.errors import UsageError
from ddit_eval.overrides import task_overrides
from ddit_eval.registry import TASKS
from ddit_eval.run_folder import RunFolder


def overrides(task, *pairs):
    return task_overrides(list(pairs), {task: TASKS.get(task)})[task]


def build(task, *pairs):
    return TASKS.get(task)(**overrides(task, *pairs))


def test_text_settings_stay_text_and_each_type_parses_as_declared():
    probe = overrides("feature-probe", "vqa_revision=12345", "shots=32,0", "finetune_decoder=no", "lr=1",
                      "train_steps=none", "encoders=clip")
    assert probe == {"vqa_revision": "12345", "shots": (32, 0), "finetune_decoder": False, "lr": 1.0,
                     "train_steps": None, "encoders": ("clip",)}
    pope = build("pope", "revision=12345")
    assert pope.settings.revision == "12345" and pope.settings.as_dict()["revision"] == "12345"  # what config() records
    assert overrides("geneval", "detector_sha256=0123")["detector_sha256"] == "0123"


def test_the_settings_are_frozen():
    task = build("shapes-vqa", "num_questions=4")
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.settings.num_questions = 5


def test_an_unordered_list_is_one_setting_in_any_order(tmp_path):
    """shots=32,0 and shots=0,32 are the same settings; steps=8,4 and 4,8 the same run (a resume matches)."""
    assert build("feature-probe", "shots=32,0").settings == build("feature-probe", "shots=0,32").settings
    assert build("feature-probe", "shots=32,0").settings.as_dict()["shots"] == [0, 32]
    first, second = build("steps-ablation", "steps=8,4"), build("steps-ablation", "steps=4,8")
    assert first.config() == second.config() and first.config()["settings"]["steps"] == [4, 8]
    folder = RunFolder(tmp_path / "run")
    folder.start({"tasks": {"steps-ablation": first.config()}}, overwrite=False)
    folder.start({"tasks": {"steps-ablation": second.config()}}, overwrite=False)  # not "other settings"
    changed = build("steps-ablation", "steps=4,16")
    with pytest.raises(UsageError, match="other settings"):
        folder.start({"tasks": {"steps-ablation": changed.config()}}, overwrite=False)


def test_an_ordered_list_keeps_its_order_and_no_list_repeats_a_value():
    assert build("steps-ablation", "tasks=shapes-vqa,shapes-caption").settings.tasks == ("shapes-vqa", "shapes-caption")
    assert build("feature-probe", "encoders=clip,ddit").primary_metric == "clip/vqa_accuracy_0shot"
    with pytest.raises(UsageError, match="a shot count appears twice"):
        build("feature-probe", "shots=0,32,0")


def test_an_unknown_key_is_one_line_with_a_suggestion_never_a_key_error():
    with pytest.raises(UsageError) as caught:
        TASKS.get("vqav2")(vqa_rul="official")
    message = str(caught.value)
    assert message == ("task 'vqav2' has no setting 'vqa_rul'; did you mean vqa_rule?") and "\n" not in message
    with pytest.raises(UsageError, match=r"unknown --set key 'answer_lenght' for pope; did you mean answer_length\?"):
        overrides("pope", "answer_lenght=3")


@pytest.mark.parametrize("task, given, message", [
    ("shapes-vqa", {"num_questions": 0}, "task 'shapes-vqa': setting num_questions=0: expected int (an integer) >= 1"),
    ("vqav2", {"answer_length": 129},
     "task 'vqav2': setting answer_length=129: expected int (an integer) >= 1 and <= 128 or none"),
    ("pope", {"parse_rule": "loose"}, "task 'pope': setting parse_rule='loose': expected one of pope, ddit_vqa, mme"),
    ("coco-fid", {"resize_mode": "nearest"},
     "task 'coco-fid': setting resize_mode='nearest': expected one of bicubic, bilinear, lanczos"),
    ("feature-probe", {"train_splits": "train,dev"},
     "task 'feature-probe': setting train_splits='train,dev': expected comma-separated Karpathy splits among train"),
    ("steps-ablation", {"steps": (4, 0)}, "task 'steps-ablation': setting steps='4,0': expected comma-separated step counts >= 1"),
    ("shapes-vqa", {"steps": True}, "task 'shapes-vqa': setting steps=True: expected int (an integer) >= 1 or none"),
])
def test_out_of_range_and_bad_choices_are_refused_in_one_line(task, given, message):
    with pytest.raises(UsageError) as caught:
        TASKS.get(task)(**given)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_a_value_of_the_wrong_type_is_refused_when_parsed():
    with pytest.raises(UsageError, match=r"--set shapes-vqa.num_questions='many': expected int \(an integer\) >= 1"):
        overrides("shapes-vqa", "shapes-vqa.num_questions=many")
    with pytest.raises(UsageError, match=r"--set shots='0,x': expected comma-separated shot counts >= 0"):
        overrides("feature-probe", "shots=0,x")
    with pytest.raises(UsageError, match="true or false"):
        overrides("coco-fid", "clip_score=maybe")


def test_every_registered_setting_has_a_type_and_a_one_line_doc():
    for name in TASKS.names():
        declared = TASKS.get(name).settings_type.declared()  # a TypeError for an undeclared or untyped field
        for d in declared:
            assert d.spec.doc.strip() and "\n" not in d.spec.doc, f"{name}.{d.name} has no one-line doc"
        defaults = TASKS.get(name).settings_type.defaults()
        assert list(defaults) == [d.name for d in declared]


def test_a_recorded_run_rebuilds_its_task():
    recorded = build("steps-ablation", "steps=8,4").config()["settings"]
    again = TASKS.get("steps-ablation")(**TASKS.get("steps-ablation").settings_type.recorded({**recorded, "gone": 1}))
    assert again.settings.steps == (4, 8)


def test_describe_prints_every_setting_with_its_doc(cli):
    code, out, err = cli("describe", "vqav2")
    assert code == 0 and not err
    assert out.startswith("vqav2: VQAv2 validation") and "request kind: answer" in out and "headline metric: accuracy" in out
    for d in TASKS.get("vqav2").settings_type.declared():
        line = next(line for line in out.splitlines() if line.split()[:1] == [d.name])
        assert d.spec.doc in line and d.kind.name in line
    assert "one of ddit, lmms-eval" in out and "<= 128" in out
    code, out, err = cli("describe", "steps-ablation")
    assert "4,8,16,32,64,128" in out and "any order (kept sorted)" in out


def test_describe_an_unknown_task_is_one_line_with_a_suggestion(cli):
    code, out, err = cli("describe", "vqa2")
    assert code == 2 and err.strip() == "error: unknown task 'vqa2'; did you mean vqav2, okvqa, gqa?"


def test_describe_loads_no_model_library():
    code = ("import sys, io, contextlib; from ddit_eval.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()): assert main(['describe', 'feature-probe']) == 0\n"
            "print(sorted(m for m in ('torch', 'transformers', 'diffusers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
