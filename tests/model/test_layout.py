"""The transformer's parameters equal the official ones; the tiny checkpoint round-trips with no missing keys."""

import importlib.util
import json
import re
from pathlib import Path

import torch
from diffusers import AutoencoderKL

from ddit_eval.model import REAL_SIZES, SD3JointModelFlexible, build_tiny_components, load_model

_spec = importlib.util.spec_from_file_location("make_official_names", Path(__file__).with_name("make_official_names.py"))
_names = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_names)
FIXTURE, SD3_MEDIUM, VOCAB, official_parameter_shapes = _names.FIXTURE, _names.SD3_MEDIUM, _names.VOCAB, _names.official_parameter_shapes


def _shapes(module):
    return {k: list(v.shape) for k, v in module.state_dict().items()}


def test_fixture_follows_the_spec_rules():
    assert json.loads(FIXTURE.read_text()) == official_parameter_shapes()


def test_real_size_parameters_equal_the_official_list():
    with torch.device("meta"):
        model = SD3JointModelFlexible(vocab_size=VOCAB, **SD3_MEDIUM)
    official = json.loads(FIXTURE.read_text())
    mine = _shapes(model)
    assert sorted(set(official) - set(mine)) == []  # missing
    assert sorted(set(mine) - set(official)) == []  # unexpected
    assert {k: v for k, v in mine.items() if official[k] != v} == {}


def test_tiny_model_has_the_official_module_structure():
    tiny = build_tiny_components()["transformer"]
    norm = lambda names: {re.sub(r"transformer_blocks\.\d+\.", "transformer_blocks.N.", k) for k in names}
    assert norm(_shapes(tiny)) == norm(json.loads(FIXTURE.read_text()))


def test_official_layout_round_trip(tiny_path):
    loaded, info = SD3JointModelFlexible.from_pretrained(tiny_path / "transformer", output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    assert info.get("mismatched_keys", []) == [] and info.get("error_msgs", []) == []
    saved = build_tiny_components(seed=0)["transformer"].state_dict()
    assert all(torch.equal(saved[k], v) for k, v in loaded.state_dict().items())
    index = json.loads((tiny_path / "model_index.json").read_text())
    assert index["transformer"][-1] == "SD3JointModelFlexible"
    assert {"vae", "text_encoder", "tokenizer", "scheduler", "transformer"} <= set(index)


def test_sizes_are_read_from_the_configs(tiny_model, tiny_path):
    m = tiny_model
    vae_cfg = AutoencoderKL.load_config(tiny_path / "vae")
    assert m.vae.config.scaling_factor == vae_cfg["scaling_factor"] == 1.5
    assert m.vae.config.shift_factor == vae_cfg["shift_factor"] == 0.05
    assert m.transformer.config.vocab_size == len(m.tokenizer) == m.text_encoder.config.vocab_size
    assert m.mask_token_id == m.tokenizer.convert_tokens_to_ids("<extra_id_0>") == len(m.tokenizer) - 1
    assert m.tokenizer.eos_token_id == 1 and m.tokenizer.pad_token_id == 0
    assert m.scheduler.config.shift == 3.0
    assert (m.defaults.resolution, m.text_length, m.defaults.t2i_text_length) == (32, 48, 32)
    assert m.config()["dtype"] == "float32" and m.config()["device"] == "cpu"


def test_tokenizer_keeps_shape_words_whole(tiny_model):
    tok = tiny_model.tokenizer
    pieces = tok.convert_ids_to_tokens(tok("a photo of two blue squares left of a pink triangle").input_ids)
    assert pieces == ["▁a", "▁photo", "▁of", "▁two", "▁blue", "▁squares", "▁left", "▁of", "▁a", "▁pink", "▁triangle", "</s>"]


def test_mask_embedding_option(tiny_path, tmp_path):
    vector = torch.arange(32, dtype=torch.float32) / 7
    torch.save(vector, tmp_path / "mask_emb.pt")
    m = load_model(str(tiny_path), device="cpu", mask_embedding=str(tmp_path / "mask_emb.pt"))
    table = m.text_encoder.get_input_embeddings().weight
    assert torch.equal(table[m.mask_token_id], vector)
    assert not torch.equal(table[m.mask_token_id - 1], vector)


def test_mask_embedding_from_the_command_line(tiny_path, tmp_path, capsys):
    from ddit_eval.cli import main

    torch.save(torch.ones(32), tmp_path / "mask_emb.pt")
    common = ["run", "--model", str(tiny_path), "--tasks", "shapes-vqa", "--limit", "2", "--device", "cpu",
              "--set", "answer_length=2", "--set", "steps=2"]
    assert main([*common, "--mask-embedding", str(tmp_path / "missing.pt"), "--output-dir", str(tmp_path / "a")]) == 2
    assert "--mask-embedding" in capsys.readouterr().err and not (tmp_path / "a").exists()
    assert main([*common, "--mask-embedding", str(tmp_path / "mask_emb.pt"), "--output-dir", str(tmp_path / "b")]) == 0
    results = json.loads((tmp_path / "b" / "results.json").read_text())
    assert results["config"]["mask_embedding"] == str(tmp_path / "mask_emb.pt")
    assert results["tasks"]["shapes-vqa"]["n"] == 2


def test_real_sizes_build_has_the_official_parameters_and_config():
    with torch.device("meta"):
        parts = build_tiny_components(**REAL_SIZES)
    assert _shapes(parts["transformer"]) == json.loads(FIXTURE.read_text())
    config = parts["transformer"].config
    assert {k: config[k] for k in SD3_MEDIUM} == SD3_MEDIUM and config["vocab_size"] == VOCAB
    assert parts["tokenizer"].convert_tokens_to_ids("<extra_id_0>") == VOCAB - 1 == len(parts["tokenizer"]) - 1
