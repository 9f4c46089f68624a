"""The prefix decoder: training lowers the loss, a killed run resumes to the same weights, configs are guarded."""

import pytest
import torch

import ddit_eval.probe.training as training
from ddit_eval.errors import UsageError
from ddit_eval.probe.decoder import PrefixCaptioner, caption_tokens, load_gpt2
from ddit_eval.probe.training import Pairs, TrainConfig, train_decoder

COLOURS = ("red", "green", "blue", "yellow")
CONFIG = TrainConfig(prefix_length=2, caption_tokens=10, train_steps=30, batch_size=8, lr=3e-3, warmup_steps=0,
                     checkpoint_every=10, seed=3)


def fresh(gpt2_dir):
    """The same initial captioner every call."""
    torch.manual_seed(0)
    gpt2, tokenizer = load_gpt2(gpt2_dir)
    return PrefixCaptioner(gpt2, 6, CONFIG.prefix_length), tokenizer


def pairs():
    """Four 'images' whose features name their colour, five captions each."""
    features = torch.eye(4, 6) * 3
    captions = [f"A {c} rectangle filling the whole picture." if k % 2 else f"The picture is mostly {c}."
                for c in COLOURS for k in range(5)]
    return Pairs(features, torch.arange(4).repeat_interleave(5), captions)


def test_caption_tokens_end_in_end_of_text_and_mask_padding(gpt2_dir):
    _, tokenizer = load_gpt2(gpt2_dir)
    ids, mask = caption_tokens(tokenizer, ["A red picture.", "The picture is mostly yellow and blue and green."], 6)
    eos = tokenizer.eos_token_id
    assert ids.shape[1] == 6 and mask[1].sum() == 6 and ids[1, 5] == eos  # truncated, still ends in end-of-text
    short = int(mask[0].sum())
    assert ids[0, short - 1] == eos and (mask[0, short:] == 0).all() and (ids[0, short:] == eos).all()


def test_training_lowers_the_loss_and_resumes_exactly(gpt2_dir, tmp_path, monkeypatch):
    captioner, tokenizer = fresh(gpt2_dir)
    losses = train_decoder(captioner, tokenizer, pairs(), CONFIG, tmp_path / "straight", {"encoder": "test"})
    assert len(losses) == 30 and sum(losses[-5:]) / 5 < 0.75 * sum(losses[:5]) / 5
    assert (tmp_path / "straight" / "final.pt").exists() and not (tmp_path / "straight" / "latest.pt").exists()

    # killed after 25 steps: the checkpoint of step 20 is on disk
    calls = {"n": 0}
    update = training.Progress.update

    def dies(self, n):
        calls["n"] += 1
        if calls["n"] == 25:
            raise KeyboardInterrupt
        update(self, n)

    monkeypatch.setattr(training.Progress, "update", dies)
    interrupted, _ = fresh(gpt2_dir)
    with pytest.raises(KeyboardInterrupt):
        train_decoder(interrupted, tokenizer, pairs(), CONFIG, tmp_path / "killed", {"encoder": "test"})
    assert torch.load(tmp_path / "killed" / "latest.pt", weights_only=False)["step"] == 20
    monkeypatch.setattr(training.Progress, "update", update)
    resumed, _ = fresh(gpt2_dir)
    assert train_decoder(resumed, tokenizer, pairs(), CONFIG, tmp_path / "killed", {"encoder": "test"}) == losses
    for (name, a), b in zip(captioner.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name

    # a finished folder loads instead of training; a folder with other settings is refused
    loaded, _ = fresh(gpt2_dir)
    assert train_decoder(loaded, tokenizer, pairs(), CONFIG, tmp_path / "straight", {"encoder": "test"}) == losses
    assert torch.equal(loaded.project[1].weight, captioner.project[1].weight)
    with pytest.raises(UsageError, match="other settings"):
        train_decoder(loaded, tokenizer, pairs(), TrainConfig(**{**CONFIG.__dict__, "lr": 1e-4}), tmp_path / "straight",
                      {"encoder": "test"})


def test_the_trained_decoder_captions_from_features(gpt2_dir, tmp_path):
    captioner, tokenizer = fresh(gpt2_dir)
    config = TrainConfig(**{**CONFIG.__dict__, "train_steps": 120, "lr": 1e-2})
    train_decoder(captioner, tokenizer, pairs(), config, tmp_path, {"encoder": "test"})
    captions = captioner.caption(pairs().features, tokenizer, 10)
    assert len(captions) == 4 and all(isinstance(c, str) for c in captions)
    assert sum(colour in caption for colour, caption in zip(COLOURS, captions)) >= 3  # the feature decides the colour
