"""The tiny-model trainer: a few steps of the dual objective lower both losses, deterministically."""

import json

import pytest
from safetensors.torch import load_file

from ddit_eval.model import load_model
from ddit_eval.shapes.train_tiny import TrainConfig, main, train

SMALL = dict(scenes=48, geneval_copies=0, vae_steps=20, batch_size=8, warmup=3, log_every=5, threads=1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("train") / "ckpt"
    summary = train(out, TrainConfig(steps=40, lr=2e-3, **SMALL), log=lambda m: None)
    return out, summary


def test_a_few_steps_lower_both_losses(trained):
    _, summary = trained
    rows = summary["curve"]["rows"]
    assert [r[0] for r in rows][:2] == [0, 5] and rows[-1][0] == 39
    first, last = rows[0], rows[-1]
    assert last[1] < 0.8 * first[1], f"image loss {first[1]} -> {last[1]}"
    assert last[2] < 0.5 * first[2], f"text loss {first[2]} -> {last[2]}"


def test_writes_a_loadable_official_layout_with_training_record(trained):
    out, summary = trained
    model = load_model(str(out), device="cpu")
    assert model.defaults.resolution == 32 and model.transformer.config.patch_size == 2
    recorded = json.loads((out / "training.json").read_text())
    assert recorded["config"]["steps"] == 40 and recorded["final_loss_text"] == summary["final_loss_text"]
    # the VAE's posterior std is fixed small, so the official posterior sample is close to the mean
    assert recorded["vae_posterior_std"] == pytest.approx(0.01, rel=1e-3)


def test_same_seed_same_weights(tmp_path, capsys):
    args = ["--steps", "3", "--vae-steps", "2", "--scenes", "16"]
    for name in ("a", "b"):
        assert main(["--output", str(tmp_path / name), *args, "--geneval-copies", "0", "--threads", "1"]) == 0
    a = load_file(tmp_path / "a" / "transformer" / "diffusion_pytorch_model.safetensors")
    b = load_file(tmp_path / "b" / "transformer" / "diffusion_pytorch_model.safetensors")
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    assert '"final_loss_img"' in capsys.readouterr().out
