"""Train the prefix decoder on (image features, caption) pairs, resumably.

`<folder>/config.json` records what is trained (settings, encoder identity, decoder weights,
data); a folder holding another configuration is refused.  Every `checkpoint_every` steps
`latest.pt` (weights, optimiser, schedule, step, losses) is replaced atomically; a re-run resumes
from it.  Batch order and dropout are drawn from (seed, epoch) and (seed, step), so a resumed
run ends with the same weights as an uninterrupted one.  At the end `final.pt` holds the
weights and `train_log.json` every step's loss.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Sequence

import torch

from ddit_eval.errors import UsageError
from ddit_eval.progress import Progress
from ddit_eval.results import write_json_atomic

from .decoder import PrefixCaptioner, caption_tokens


@dataclass(frozen=True)
class TrainConfig:
    prefix_length: int = 10
    caption_tokens: int = 40
    epochs: int = 10
    train_steps: Optional[int] = None  # overrides epochs when set
    batch_size: int = 40
    lr: float = 2e-5
    warmup_steps: int = 5000
    checkpoint_every: int = 1000
    finetune_decoder: bool = True
    seed: int = 0


@dataclass
class Pairs:
    """Training pairs: feature rows (one per image) and, per caption, the row of its image."""

    features: torch.Tensor  # (images, D)
    image_rows: torch.Tensor  # (captions,) long
    captions: Sequence[str]


def total_steps(config: TrainConfig, n_pairs: int) -> int:
    return config.train_steps or config.epochs * steps_per_epoch(config, n_pairs)


def steps_per_epoch(config: TrainConfig, n_pairs: int) -> int:
    return max(1, n_pairs // config.batch_size)  # the last partial batch of an epoch is dropped


def batch_indices(config: TrainConfig, n_pairs: int, step: int) -> torch.Tensor:
    per_epoch = steps_per_epoch(config, n_pairs)
    epoch, k = divmod(step, per_epoch)
    order = torch.randperm(n_pairs, generator=torch.Generator().manual_seed(config.seed * 100_003 + epoch))
    size = min(config.batch_size, n_pairs)
    return order[k * size:(k + 1) * size]


def train_decoder(captioner: PrefixCaptioner, tokenizer, pairs: Pairs, config: TrainConfig, folder: Path,
                  record: dict, desc: str = "decoder") -> list[float]:
    """Train `captioner` in place (or load what `folder` finished before); return every step's loss."""
    folder = Path(folder)
    _claim(folder, {**record, "train": asdict(config), "pairs": len(pairs.captions)})
    device = next(captioner.parameters()).device
    if (folder / "final.pt").exists():
        captioner.load_state_dict(torch.load(folder / "final.pt", map_location=device))
        return json.loads((folder / "train_log.json").read_text())["loss"]
    captioner.gpt2.requires_grad_(config.finetune_decoder)
    ids, mask = caption_tokens(tokenizer, pairs.captions, config.caption_tokens)
    steps = total_steps(config, len(pairs.captions))
    optimizer = torch.optim.AdamW([p for p in captioner.parameters() if p.requires_grad], lr=config.lr)
    from transformers import get_linear_schedule_with_warmup

    schedule = get_linear_schedule_with_warmup(optimizer, config.warmup_steps, steps)
    start, losses = _resume(folder / "latest.pt", captioner, optimizer, schedule, device)
    size = min(config.batch_size, len(pairs.captions))
    progress = Progress(steps * size, f"{desc} training (captions)", initial=start * size)
    captioner.train()
    try:
        for step in range(start, steps):
            rows = batch_indices(config, len(pairs.captions), step)
            width = int(mask[rows].sum(1).max())
            torch.manual_seed(config.seed * 100_003 + step)  # dropout: the same on resume
            loss = captioner(pairs.features[pairs.image_rows[rows]].to(device), ids[rows, :width].to(device),
                             mask[rows, :width].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(float(loss.detach()))
            progress.update(len(rows))
            if (step + 1) % config.checkpoint_every == 0 and step + 1 < steps:
                _save(folder / "latest.pt", {"model": captioner.state_dict(), "optimizer": optimizer.state_dict(),
                                             "schedule": schedule.state_dict(), "step": step + 1, "losses": losses})
    finally:
        progress.close()
        captioner.eval()
    write_json_atomic(folder / "train_log.json", {"steps": steps, "loss": losses})
    _save(folder / "final.pt", captioner.state_dict())
    (folder / "latest.pt").unlink(missing_ok=True)
    return losses


def _claim(folder: Path, record: dict) -> None:
    """Write config.json, or refuse a folder whose recorded training differs."""
    record = json.loads(json.dumps(record, default=str))
    path = folder / "config.json"
    if path.exists():
        recorded = json.loads(path.read_text())
        if recorded != record:
            keys = sorted(k for k in set(recorded) | set(record) if recorded.get(k) != record.get(k))
            raise UsageError(f"{str(folder)!r} holds a decoder trained with other settings ({', '.join(keys)} differ); "
                             "use another --output-dir, or --overwrite")
    write_json_atomic(path, record)


def _resume(path: Path, captioner, optimizer, schedule, device) -> tuple[int, list[float]]:
    if not path.exists():
        return 0, []
    state = torch.load(path, map_location=device, weights_only=False)
    captioner.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    return state["step"], list(state["losses"])


def _save(path: Path, obj) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def loss_summary(losses: Sequence[float], window: int = 50) -> dict:
    """Mean loss of the first and last `window` steps (how far training went)."""
    k = max(1, min(window, math.ceil(len(losses) / 4))) if losses else 0
    first = sum(losses[:k]) / k if k else None
    last = sum(losses[-k:]) / k if k else None
    return {"steps": len(losses), "loss_first": first, "loss_last": last, "window": k}
