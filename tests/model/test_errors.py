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


def test_unreadable_model_index(tiny_path, tmp_path):
    copy = _copy(tiny_path, tmp_path)
    (copy / "model_index.json").write_text("{not json")
    assert "model_index.json is not readable JSON" in _error(copy)


def test_transformer_config_without_vocab_size(tiny_path, tmp_path):
    copy = _copy(tiny_path, tmp_path)
    config = json.loads((copy / "transformer" / "config.json").read_text())
    del config["vocab_size"]  # the class default must not stand in for the checkpoint's size
    (copy / "transformer" / "config.json").write_text(json.dumps(config))
    assert "transformer/config.json has no 'vocab_size'" in _error(copy)


def test_vae_config_without_scaling_factor(tiny_path, tmp_path):
    copy = _copy(tiny_path, tmp_path)
    config = json.loads((copy / "vae" / "config.json").read_text())
    del config["scaling_factor"]
    (copy / "vae" / "config.json").write_text(json.dumps(config))
    assert "vae/config.json has no 'scaling_factor'" in _error(copy)


def test_corrupt_weights_name_the_component(tiny_path, tmp_path):
    copy = _copy(tiny_path, tmp_path)
    for f in (copy / "vae").glob("*.safetensors"):
        f.write_bytes(f.read_bytes()[:100])
    assert "component 'vae' could not be loaded" in _error(copy)


def test_weights_that_disagree_with_the_config(tiny_path, tmp_path):
    copy = _copy(tiny_path, tmp_path)
    config = json.loads((copy / "transformer" / "config.json").read_text())
    config["vocab_size"] += 5  # text_proj_out in the weights no longer fits
    (copy / "transformer" / "config.json").write_text(json.dumps(config))
    assert "component 'transformer' could not be loaded" in _error(copy)


def test_tokenizer_without_the_mask_token(tiny_path, tmp_path):
    from ddit_eval.model.tiny import build_tokenizer

    copy = _copy(tiny_path, tmp_path)
    shutil.rmtree(copy / "tokenizer")
    build_tokenizer(extra_ids=0).save_pretrained(copy / "tokenizer")
    assert "tokenizer has no <extra_id_0>" in _error(copy)


def test_bad_mask_embedding_files(tiny_path, tmp_path):
    import torch

    torch.save(torch.ones(7), tmp_path / "short.pt")
    assert "has 7 values, the T5 embedding has 32" in _error(tiny_path, mask_embedding=str(tmp_path / "short.pt"))
    (tmp_path / "junk.pt").write_bytes(b"not a tensor")
    assert "not a readable tensor file" in _error(tiny_path, mask_embedding=str(tmp_path / "junk.pt"))
    assert "no such file" in _error(tiny_path, mask_embedding=str(tmp_path / "missing.pth"))
