"""Bad checkpoints fail with one line naming what is missing."""

import json
import shutil

import pytest

from ddit_eval.errors import UsageError
from ddit_eval.model import load_model


def _error(spec, **kw) -> str:
    with pytest.raises(UsageError) as info:
        load_model(str(spec), device="cpu", **kw)
    message = str(info.value)
    assert "\n" not in message
    return message


def _copy(tiny_path, tmp_path):
    return shutil.copytree(tiny_path, tmp_path / "copy")


def test_wrong_path(tmp_path):
    assert "no such file or directory" in _error(tmp_path / "nope")


def test_not_a_checkpoint(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    assert "no model_index.json" in _error(tmp_path)


def test_missing_component_folder(tiny_path, tmp_path):
    copy = _copy(tiny_path, tmp_path)
    shutil.rmtree(copy / "vae")
    assert "'vae'" in _error(copy) and "vae/config.json" in _error(copy)


def test_missing_component_entry(tiny_path, tmp_path):
    copy = _copy(tiny_path, tmp_path)
    index = json.loads((copy / "model_index.json").read_text())
    del index["tokenizer"]
    (copy / "model_index.json").write_text(json.dumps(index))
    assert "no 'tokenizer' component" in _error(copy)


def test_missing_weights(tiny_path, tmp_path):
    copy = _copy(tiny_path, tmp_path)
    for f in (copy / "transformer").glob("*.safetensors"):
        f.unlink()
    assert "'transformer' has no weights" in _error(copy)


def test_wrong_transformer_class(tiny_path, tmp_path):
    copy = _copy(tiny_path, tmp_path)
    index = json.loads((copy / "model_index.json").read_text())
    index["transformer"] = ["diffusers", "SD3Transformer2DModel"]
    (copy / "model_index.json").write_text(json.dumps(index))
    assert "SD3Transformer2DModel" in _error(copy)


def test_hub_id_offline_is_one_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert "JleeOfficial/not_a_repo_xyz" in _error("JleeOfficial/not_a_repo_xyz")


def test_unknown_option(tiny_path):
    assert "unknown option" in _error(tiny_path, drawz="fast")


def test_bad_dtype(tiny_path):
    assert "--dtype" in _error(tiny_path, dtype="int8")
