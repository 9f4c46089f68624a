"""Bad input is one line and exit 2 at once: before any banner, run folder, heavy import or network wait."""

import os
import socket
import subprocess
import sys
import time

import pytest

TOY = ("--tasks", "toy-colors", "--set", "num_samples=3")


def _one_line_error(code, err):
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


# ----------------------------------------------------------------------------- test doubles


@pytest.mark.parametrize("spec, fragment", [
    ("double:pixel?delay=abc", "delay='abc'"),
    ("double:pixel?delay=-1", "delay='-1'"),
    ("double:pixel?wrong=2", "wrong='2'"),
    ("double:pixel?delay", "delay=''"),
    ("double:pixel?colour=red", "'colour' is unknown"),
])
def test_a_bad_double_option_is_one_line_naming_the_known_options(cli, tmp_path, spec, fragment):
    out = tmp_path / "run"
    line = _one_line_error(*cli("run", *TOY, "--model", spec, "--output-dir", out)[::2])
    assert fragment in line and all(name in line for name in ("delay", "wrong", "fail"))
    assert not out.exists()


def test_an_unknown_double_suggests_the_close_name_before_any_banner(cli, tmp_path):
    out = tmp_path / "run"
    code, _, err = cli("run", *TOY, "--model", "double:pixl", "--output-dir", out)
    line = _one_line_error(code, err)
    assert "unknown test double 'pixl'" in line and "did you mean pixel" in line
    assert not out.exists()


def test_good_double_options_still_load():
    from ddit_eval.backends import load_backend_model

    model = load_backend_model("double:pixel?delay=0&wrong=0.5&fail=x")
    assert (model.delay, model.wrong, model.fail) == (0.0, 0.5, "x") and model.config()["device"] == "cpu"


# ----------------------------------------------------------------------------- --device


def test_a_double_refuses_cuda_and_records_the_cpu(cli, tmp_path):
    out = tmp_path / "run"
    line = _one_line_error(*cli("run", *TOY, "--model", "double:pixel", "--device", "cuda", "--output-dir", out)[::2])
    assert "--device cuda" in line and "cpu" in line and not out.exists()


def test_cuda_is_checked_before_the_model_loads(cli, tmp_path, monkeypatch):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    import ddit_eval.cli

    def no_load(*args, **kwargs):
        raise AssertionError("the model was loaded before --device was checked")

    monkeypatch.setattr(ddit_eval.cli, "load_backend_model", no_load)
    out = tmp_path / "run"
    code, _, err = cli("run", *TOY, "--device", "cuda", "--output-dir", out)
    line = _one_line_error(code, err)
    assert "CUDA is not available" in line and not out.exists()


# ----------------------------------------------------------------------------- settings with default None


def _none_default_types():
    """Every None-default setting of the built-in tasks -> the type `--set KEY=7` must give it."""
    from ddit_eval.registry import TASKS

    return {(name, d.name) for name in TASKS.names() for d in TASKS.get(name).settings_type.declared()
            if d.default is None}


EXPECTED = {**dict.fromkeys(("revision", "config", "prompt_template", "karpathy_file", "images_dir", "captions_file",
                             "feature_extractor_weights", "metadata", "detector_weights", "detector_sha256", "cache_dir",
                             "vqa_revision", "direct_vqa_run"), str),
            **dict.fromkeys(("steps", "answer_length", "caption_length", "resolution", "train_steps", "train_images"), int),
            "guidance": float}


def test_a_revision_of_digits_stays_a_string():
    from ddit_eval.overrides import task_overrides
    from ddit_eval.registry import TASKS

    settings = task_overrides(["pope.revision=12345", "pope.steps=8"], {"pope": TASKS.get("pope")})["pope"]
    assert settings == {"revision": "12345", "steps": 8}
    assert TASKS.get("pope")(**settings).dataset_revision == "12345"


def test_every_none_default_setting_is_parsed_by_its_declared_type():
    from ddit_eval.overrides import task_overrides
    from ddit_eval.registry import TASKS

    for name, key in sorted(_none_default_types()):
        assert key in EXPECTED, f"{name}.{key} defaults to None: declare its type and expect it here"
        got = task_overrides([f"{name}.{key}=7"], {name: TASKS.get(name)})[name][key]
        assert type(got) is EXPECTED[key], f"{name}.{key}=7 gave {got!r}"
        assert task_overrides([f"{name}.{key}=none"], {name: TASKS.get(name)})[name][key] is None


def test_a_none_default_int_setting_refuses_text(cli, tmp_path):
    line = _one_line_error(*cli("run", "--tasks", "pope", "--model", "double:pixel", "--set", "pope.steps=3.5",
                                "--output-dir", tmp_path / "run")[::2])
    assert "steps='3.5'" in line and "integer" in line


def test_a_revision_with_a_local_folder_is_refused(cli, tmp_path):
    data = tmp_path / "POPE"
    data.mkdir()
    line = _one_line_error(*cli("run", "--tasks", "pope", "--model", "double:pixel", "--set", f"pope.dataset={data}",
                                "--set", "pope.revision=v1.0", "--output-dir", tmp_path / "run")[::2])
    assert "revision" in line and "hub ids only" in line and not (tmp_path / "run").exists()


# ----------------------------------------------------------------------------- offline or not


@pytest.mark.parametrize("value, offline", [(None, False), ("0", False), ("", False), ("1", True), ("true", True),
                                            ("YES", True), ("on", True)])
def test_offline_means_what_huggingface_hub_means(monkeypatch, value, offline):
    from ddit_eval import environment

    if value is None:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    else:
        monkeypatch.setenv("HF_HUB_OFFLINE", value)
    assert environment.offline() is offline


@pytest.mark.parametrize("value, local", [("lmms-lab/POPE", False), ("/data/POPE", True), ("./POPE", True),
                                          ("~/POPE", True), ("POPE", True), ("a/b/c", True)])
def test_one_answer_to_local_path_or_hub_id(value, local):
    from ddit_eval import environment
    from ddit_eval.data import is_local
    from ddit_eval.backends import looks_like_path

    assert environment.is_local_path(value) is local and is_local(value) is local and looks_like_path(value) is local


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("what", [("--tasks", "pope", "--model", "double:pixel", "--set", "pope.dataset=nobody-here/no-data"),
                                  ("--tasks", "shapes-vqa", "--model", "nobody-here/no-such-model")])
def test_an_unreachable_hub_is_one_line_at_once(tmp_path, what):
    """No HF_HUB_OFFLINE and no hub to reach (an endpoint that refuses): one line in seconds, not 10 retries."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_ENDPOINT=f"http://127.0.0.1:{_closed_port()}", HF_HOME=str(tmp_path / "hf"), PYTHONUNBUFFERED="1")
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "ddit_eval", "run", *what, "--output-dir", str(tmp_path / "run")],
                          env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - start
    line = _one_line_error(proc.returncode, proc.stderr)
    assert "cannot reach the Hugging Face hub" in line and "HF_HUB_OFFLINE=1" in line, line
    assert elapsed < 10, f"took {elapsed:.1f}s"
    assert not (tmp_path / "run").exists()


# ----------------------------------------------------------------------------- score


@pytest.mark.parametrize("text", ['[{"id": "c0000", "prediction": "black"}]\n',
                                  '[\n  {"id": "c0000", "prediction": "black"}\n]\n'])
def test_score_says_a_json_array_is_not_jsonl(cli, tmp_path, text):
    preds = tmp_path / "preds.json"
    preds.write_text(text)
    line = _one_line_error(*cli("score", "--task", "toy-colors", "--predictions", preds)[::2])
    assert "not JSONL" in line and "one JSON object per line" in line and "has no 'id'" not in line


# ----------------------------------------------------------------------------- the command line itself


def test_a_run_option_before_any_command_says_the_command_is_missing(cli):
    code, out, err = cli("--limit", "2")
    line = _one_line_error(code, err)
    assert "--limit is an option of a command, and no command is given" in line and "run --limit 2" in line
    assert "invalid choice" not in err and out == ""


def test_version_prints_the_package_version(capsys):
    import ddit_eval
    from ddit_eval.cli import main

    with pytest.raises(SystemExit) as stop:  # argparse's version action exits 0 after printing
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out == f"ddit-eval {ddit_eval.__version__}\n"
