"""The transformer's parameters equal the official ones; the tiny checkpoint round-trips with no missing keys."""

import importlib.util
import json
import re
from pathlib import Path

import torch
from diffusers import AutoencoderKL

from ddit_eval.api import ImageRequest
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
    assert m.codec.mask_token_id == m.tokenizer.convert_tokens_to_ids("<extra_id_0>") == len(m.tokenizer) - 1
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
    assert torch.equal(table[m.codec.mask_token_id], vector)
    assert not torch.equal(table[m.codec.mask_token_id - 1], vector)


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


def test_every_size_comes_from_the_checkpoint(tmp_path):
    """Non-default factors, scheduler shift and pad token in the files are what the backend uses."""
    from diffusers import FlowMatchEulerDiscreteScheduler
    from transformers import T5TokenizerFast

    from ddit_eval.model import build_tiny_checkpoint
    from ddit_eval.model.t2i import sigma_schedule

    path = build_tiny_checkpoint(tmp_path / "odd", seed=3, vae_scaling_factor=0.8, vae_shift_factor=-0.2,
                                 scheduler_shift=1.7, extra_ids=5)
    tokenizer = T5TokenizerFast.from_pretrained(path / "tokenizer")
    tokenizer.pad_token = tokenizer.eos_token  # as the official training pads
    tokenizer.save_pretrained(path / "tokenizer")
    m = load_model(str(path), device="cpu")
    assert (m.vae.config.scaling_factor, m.vae.config.shift_factor) == (0.8, -0.2)
    assert m.codec.mask_token_id == len(m.tokenizer) - 1 == m.transformer.config.vocab_size - 1
    assert m.tokenize(["a red circle"], 8) == [m.tokenize(["a red circle"], 8, pad=False)[0] + [1] * 4]
    assert torch.equal(sigma_schedule(m.scheduler.config, 5), _sigmas(FlowMatchEulerDiscreteScheduler(shift=1.7), 5))
    assert not torch.equal(sigma_schedule(m.scheduler.config, 5), _sigmas(FlowMatchEulerDiscreteScheduler(shift=3.0), 5))
    timesteps, t5_ids = [], []
    forward, encode = m.transformer.forward, m.text_encoder.forward
    m.transformer.forward = lambda *a, **kw: timesteps.append(kw["timestep"][0].item()) or forward(*a, **kw)
    m.text_encoder.forward = lambda *a, **kw: t5_ids.append(kw["input_ids"]) or encode(*a, **kw)
    m.generate_images([ImageRequest(id="x", prompt="a red circle", seed=0, steps=3)])
    assert timesteps == (_sigmas(FlowMatchEulerDiscreteScheduler(shift=1.7), 3)[:-1] * 1000).tolist()
    # prompt and negative prompt, eos-padded to the t2i length, in one call of the fixed call shape
    assert t5_ids[0].shape == (m.defaults.call_rows, 32) and t5_ids[0][:2, -1].tolist() == [1, 1]
    with torch.no_grad():
        pixels = torch.rand(1, 3, 32, 32) * 2 - 1
        # the backend's VAE calls run at their fixed shape (vae_rows), which may round otherwise than another
        mean = m.vae.encode(pixels.expand(m.defaults.vae_rows, -1, -1, -1)).latent_dist.mean[:1]
        assert torch.equal(m.codec.encode_images(pixels), (mean + 0.2) * 0.8)
        z = torch.randn(1, 4, 16, 16)
        decoded = m.vae.decode((z / 0.8 - 0.2).expand(m.defaults.vae_rows, -1, -1, -1)).sample[:1]
        assert torch.equal(m.codec.decode_latents(z), (decoded * 0.5 + 0.5).clamp(0, 1))


def _sigmas(scheduler, steps):
    scheduler.set_timesteps(steps)
    return scheduler.sigmas.float()


def test_released_checkpoints_get_the_paper_protocol(tiny_path, tmp_path):
    import shutil

    from ddit_eval.model import DDiTDefaults
    from ddit_eval.model.defaults import DEFAULTS_KEY

    copy = shutil.copytree(tiny_path, tmp_path / "released-like")
    index = json.loads((copy / "model_index.json").read_text())
    del index[DEFAULTS_KEY]  # released checkpoints carry no ddit-eval settings
    (copy / "model_index.json").write_text(json.dumps(index))
    d = load_model(str(copy), device="cpu").defaults
    assert d == DDiTDefaults()
    assert (d.t2i_steps, d.guidance, d.resolution, d.t2i_text_length) == (28, 7.0, 512, 256)
    assert (d.text_length, d.answer_steps, d.caption_steps, d.posterior) == (128, 32, 64, "sample")


def test_mask_embedding_from_the_released_folder(tiny_path, tmp_path):
    folder = tmp_path / "aligned_t5_mask_emb"
    folder.mkdir()
    vector = torch.linspace(-1, 1, 32)
    torch.save(vector.reshape(1, 32), folder / "mask_token_emb.00-of-01.pth")
    m = load_model(str(tiny_path), device="cpu", mask_embedding=str(folder))
    assert torch.equal(m.text_encoder.get_input_embeddings().weight[m.codec.mask_token_id], vector)
