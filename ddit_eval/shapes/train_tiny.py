"""Train the embedded tiny D-DiT on the shapes world with the paper's dual objective.

    python -m ddit_eval.shapes.train_tiny --output DIR [--steps N] [--seed S]

Two stages, deterministic for a seed (CPU, fixed thread count):

1. The tiny AutoencoderKL is trained to reconstruct shapes images (MSE + a small KL term) with
   its posterior std fixed at 0.01 (see `fix_posterior_std`), then frozen; its scaling and
   shift factors are set from the latents' statistics so the transformer sees unit-variance
   latents, as SD3's VAE config does for SD3.
2. The transformer is trained with L = L_img + lambda * L_text on two batches per step
   (section 4 of the reference-implementation notes):
   - L_img: flow matching with shift 1 (sigma = sigmoid(N(0,1)) discretised to 1/1000,
     x_sigma = (1 - sigma) x0 + sigma eps, MSE of x0_hat = x_sigma - sigma v), conditioned on
     a prompt (the scene description, a caption, or a GenEval-style prompt), with the prompt
     replaced by the null prompt " " with probability 0.1 for classifier-free guidance;
   - L_text: masked diffusion (MDLM, 1/t weighting, t antithetic in [1e-3, 1]) on captions
     (all positions are targets) and on SFT-style question/answer examples whose prompt tokens
     are held fixed; conditioned on the clean image latent at timestep 0; eos padding counts.
   Latents are posterior samples (as SD3 trains and as the official i2t inference encodes).
   The tiny T5 encoder is trained jointly with the transformer, unlike the paper's frozen T5-XXL:
   a random 2-layer T5 carries too little position information for a run of mask tokens, and a
   frozen one left captions as bags of words.  EMAs of the transformer and the T5 weights are
   what gets saved (the transformer in fp16: half the size, and loaders cast to the run's dtype).

`--steps 0 --vae-steps 0` writes the same architecture with random weights (the baseline that
the trained model is compared against).

Training uses scenes of the shapes world's train split only; every benchmark of the shapes
suite uses test-split scenes, so the scores are on held-out images.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ddit_eval.model.codec import DDiTCodec
from ddit_eval.model.tiny import build_tiny_components, save_components
from ddit_eval.shapes.train_data import Latents, TextData, draw_scenes, fit_latents, scene_pixels, text_data

TINY_SIZES = dict(resolution=32, vae_channels=(16, 32), latent_channels=4, patch_size=2, num_layers=5, num_heads=4,
                  head_dim=32, t5_dim=64, t5_layers=2, t5_heads=4, t5_ff=128, text_length=40, t2i_text_length=24)


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 8000
    seed: int = 0
    batch_size: int = 32
    lr: float = 6e-4
    warmup: int = 200
    text_weight: float = 1.0  # lambda (the paper: 0.2 pretraining, 1.0 SFT)
    cfg_dropout: float = 0.1
    ema: float = 0.998
    vae_steps: int = 500
    vae_lr: float = 2e-3
    scenes: int = 8000
    geneval_copies: int = 4  # train scenes drawn per GenEval-style prompt (0: none)
    log_every: int = 100
    threads: int = 2
    sizes: dict = field(default_factory=lambda: dict(TINY_SIZES))


# ----------------------------------------------------------------------------- stages


POSTERIOR_STD = 0.01


def fix_posterior_std(vae, std: float = POSTERIOR_STD) -> None:
    """Make the encoder's log-variance a constant (log std**2) that training cannot change.

    With a free variance and a KL term, a tiny VAE leaves some latent channels unused as pure
    N(0, 1) noise, so posterior samples (what the official i2t inference encodes) are mostly noise.
    """
    conv = vae.quant_conv if vae.quant_conv is not None else vae.encoder.conv_out  # its last C channels: log-variance
    c = vae.config.latent_channels
    with torch.no_grad():
        conv.weight[c:] = 0.0
        conv.bias[c:] = 2 * math.log(std)
    keep = torch.ones_like(conv.weight)
    keep[c:] = 0.0
    conv.weight.register_hook(lambda grad: grad * keep)
    conv.bias.register_hook(lambda grad: torch.cat([grad[:c], torch.zeros_like(grad[c:])]))


def train_vae(vae, pixels: torch.Tensor, cfg: TrainConfig, log) -> float:
    """Reconstruction + 1e-6 KL with a fixed small posterior std; returns the final reconstruction
    MSE on [-1, 1] pixels."""
    fix_posterior_std(vae)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    opt = torch.optim.AdamW(vae.parameters(), lr=cfg.vae_lr, weight_decay=0.0)
    vae.train()
    recon = float("nan")
    for step in range(cfg.vae_steps):
        batch = pixels[torch.randint(len(pixels), (cfg.batch_size,), generator=gen)]
        dist = vae.encode(batch).latent_dist
        z = dist.mean + dist.std * torch.randn(dist.mean.shape, generator=gen)
        out = vae.decode(z).sample
        recon_loss = F.mse_loss(out, batch)
        loss = recon_loss + 1e-6 * dist.kl().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        recon = recon_loss.item()
        if step % cfg.log_every == 0 or step == cfg.vae_steps - 1:
            log(f"vae step {step}/{cfg.vae_steps} recon_mse {recon:.5f}")
    vae.eval().requires_grad_(False)
    return recon


def _lr(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def image_loss(transformer, x0, text_states, gen) -> torch.Tensor:
    u = torch.sigmoid(torch.randn(x0.shape[0], generator=gen))
    sigma = (u * 1000).round().clamp(1, 1000) / 1000
    s = sigma.view(-1, 1, 1, 1)
    noise = torch.randn(x0.shape, generator=gen)
    x_sigma = (1 - s) * x0 + s * noise
    velocity, _ = transformer(x_sigma, text_states, sigma * 1000)
    return F.mse_loss(x_sigma - s * velocity, x0)


def text_loss(codec: DDiTCodec, latents, ids, labels, gen) -> torch.Tensor:
    b, length = ids.shape
    t = ((torch.rand(1, generator=gen) + torch.arange(b) / b) % 1) * (1 - 1e-3) + 1e-3  # antithetic
    masked = (torch.rand(b, length, generator=gen) < t[:, None]) & labels
    noisy = torch.where(masked, torch.full_like(ids, codec.mask_token_id), ids)
    states = codec.encode_text(noisy)
    _, logits = codec.transformer(latents, states, torch.zeros(b))
    logits = logits.float()
    logits[..., codec.mask_token_id] = -1e6
    nll = -logits.log_softmax(-1).gather(-1, ids[..., None]).squeeze(-1)
    return (nll * masked / t[:, None]).sum() / (b * length)


# ----------------------------------------------------------------------------- driver


def train(output: str | Path, cfg: TrainConfig = TrainConfig(), log=print) -> dict:
    """Train with `cfg.threads` threads (the result depends on it), then give the caller its own count back."""
    before = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    try:
        return _train(output, cfg, log)
    finally:
        torch.set_num_threads(before)


def _train(output: str | Path, cfg: TrainConfig, log) -> dict:
    """The two stages in order (the order of random draws is part of the result), then the files."""
    torch.manual_seed(cfg.seed)
    started = time.monotonic()
    parts = build_tiny_components(seed=cfg.seed, **cfg.sizes)
    defaults = parts["defaults"]
    codec = DDiTCodec(parts["vae"], parts["text_encoder"], parts["tokenizer"], parts["transformer"], defaults.call_rows,
                      vae_rows=defaults.vae_rows)
    gen = torch.Generator().manual_seed(cfg.seed + 2)
    scenes, extra = draw_scenes(cfg.seed, cfg.scenes, cfg.geneval_copies)
    pixels = scene_pixels(codec, scenes + [s for s, _ in extra], defaults.resolution)
    log(f"data: {len(scenes)} train scenes + {len(extra)} GenEval-style scenes at {defaults.resolution}px")

    recon = train_vae(codec.vae, pixels, cfg, log)
    latents = fit_latents(codec.vae, pixels)
    data = text_data(codec, scenes, extra, cfg.seed, defaults.t2i_text_length, defaults.text_length)
    log(f"data: {len(data.prompt_ids)} text-to-image pairs, {len(data.text_ids)} text examples")
    emas, history, curve = train_transformer(codec, data, latents, cfg, gen, log, started)

    parts["transformer"], parts["text_encoder"] = emas[0].half(), emas[1]  # fp16 halves the committed file
    save_components(output, parts)
    summary = _summary(cfg, recon, latents, history, curve, started)
    (Path(output) / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _dual_losses(codec: DDiTCodec, data: TextData, latents: Latents, cfg: TrainConfig, gen):
    """One step's L_img (a batch of prompts, some replaced by the null prompt) and L_text (a batch of examples)."""
    pick = torch.randint(len(data.prompt_ids), (cfg.batch_size,), generator=gen)
    drop = torch.rand(cfg.batch_size, generator=gen) < cfg.cfg_dropout
    states = codec.encode_text(torch.where(drop[:, None], data.null_ids, data.prompt_ids[pick]))
    l_img = image_loss(codec.transformer, latents.sample(data.prompt_scene[pick], gen), states, gen)
    rows = torch.randint(len(data.text_ids), (cfg.batch_size,), generator=gen)
    l_txt = text_loss(codec, latents.sample(data.text_scene[rows], gen), data.text_ids[rows], data.text_labels[rows],
                      gen)
    return l_img, l_txt


def _optimizer_step(opt, params, loss) -> None:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()


@torch.no_grad()
def _update_emas(emas, trained, decay: float) -> None:
    for ema, live in zip(emas, trained):
        for e, p in zip(ema.parameters(), live.parameters()):
            e.lerp_(p, 1 - decay)


def _progress(step: int, history, cfg: TrainConfig, bar, log, started: float) -> list:
    """Log the mean losses of the last `log_every` steps; returns the loss curve's row for `step`."""
    recent = np.mean(history[-cfg.log_every:], axis=0)
    bar.set_postfix(loss_img=f"{recent[0]:.3f}", loss_text=f"{recent[1]:.3f}")
    log(f"step {step}/{cfg.steps} loss_img {recent[0]:.4f} loss_text {recent[1]:.4f} "
        f"lr {_lr(step, cfg):.2e} elapsed {time.monotonic() - started:.0f}s")
    return [step, round(float(recent[0]), 5), round(float(recent[1]), 5)]


def train_transformer(codec: DDiTCodec, data: TextData, latents: Latents, cfg: TrainConfig, gen, log,
                      started: float) -> tuple[list, list, list]:
    """Stage 2: the transformer and the T5 encoder on L_img + lambda * L_text; returns their EMAs,
    the per-step losses and the logged loss curve."""
    trained = [codec.transformer.train(), codec.text_encoder.eval()]  # eval: no T5 dropout (the backend runs it so)
    emas = [copy.deepcopy(m).eval().requires_grad_(False) for m in trained]
    params = [p for m in trained for p in m.parameters()]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.01, betas=(0.9, 0.99))
    history, curve = [], []
    bar = tqdm(total=cfg.steps, desc="train", unit="step", file=sys.stderr, disable=not sys.stderr.isatty())
    for step in range(cfg.steps):
        for group in opt.param_groups:
            group["lr"] = _lr(step, cfg)
        l_img, l_txt = _dual_losses(codec, data, latents, cfg, gen)
        _optimizer_step(opt, params, l_img + cfg.text_weight * l_txt)
        _update_emas(emas, trained, cfg.ema)
        history.append((l_img.item(), l_txt.item()))
        bar.update(1)
        if step % cfg.log_every == 0 or step == cfg.steps - 1:
            curve.append(_progress(step, history, cfg, bar, log, started))
    bar.close()
    return emas, history, curve


def _summary(cfg: TrainConfig, recon: float, latents: Latents, history, curve, started: float) -> dict:
    """What `training.json` records: the settings, the VAE's facts, the final losses and the curve."""
    return {"config": dataclasses.asdict(cfg), "vae_recon_mse": recon, "vae_posterior_std": latents.std.mean().item(),
            "vae_shift": latents.shift, "vae_scale": latents.scale,
            "final_loss_img": float(np.mean([h[0] for h in history[-200:]])) if history else None,
            "final_loss_text": float(np.mean([h[1] for h in history[-200:]])) if history else None,
            "train_seconds": round(time.monotonic() - started, 1), "torch": torch.__version__,
            "curve": {"columns": ["step", "loss_img", "loss_text"], "rows": curve}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ddit_eval.shapes.train_tiny", description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", required=True, help="checkpoint folder to write (official diffusers layout)")
    parser.add_argument("--steps", type=int, default=TrainConfig.steps)
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument("--vae-steps", type=int, default=TrainConfig.vae_steps)
    parser.add_argument("--scenes", type=int, default=TrainConfig.scenes, help="train-split scenes to draw")
    parser.add_argument("--geneval-copies", type=int, default=TrainConfig.geneval_copies,
                        help="extra train scenes per GenEval-style prompt")
    parser.add_argument("--threads", type=int, default=TrainConfig.threads, help="torch CPU threads (results depend on it)")
    args = parser.parse_args(argv)
    cfg = TrainConfig(steps=args.steps, seed=args.seed, vae_steps=args.vae_steps, scenes=args.scenes,
                      geneval_copies=args.geneval_copies, threads=args.threads)
    summary = train(args.output, cfg, log=lambda m: tqdm.write(m, file=sys.stderr))
    print(json.dumps({k: v for k, v in summary.items() if k not in ("config", "curve")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
