"""A randomly initialised D-DiT of the real architecture and small sizes, saved in the official layout.

`build_tiny_checkpoint(path)` writes a folder that `load_model(path)` loads through exactly the
path a released checkpoint takes: `model_index.json`, `transformer/` (SD3JointModelFlexible),
`vae/` (AutoencoderKL), `text_encoder/` (T5EncoderModel), `tokenizer/` (T5 tokenizer trained
offline with `tokenizers` on a small "shapes world" word list) and `scheduler/`.

Sizes are keyword arguments (see `TinySizes`); `REAL_SIZES` holds the released model's sizes for
benchmarks with random weights.  The tiny checkpoint records its own default text lengths and
resolution in `model_index.json` (`DDiTDefaults.to_index`); released checkpoints record none and
get the paper's defaults.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import T5Config, T5EncoderModel, T5TokenizerFast

from .backend import DDiTModel
from .defaults import DDiTDefaults
from .loader import pick_device_dtype
from .transformer import SD3JointModelFlexible


_WORDS = (
    "red orange yellow green blue purple pink brown black white gray grey "
    "circle circles square squares triangle triangles shape shapes object objects "
    "zero one two three four five six 0 1 2 3 4 5 6 yes no none "
    "left right above below top bottom middle center next to of and a an the with on under "
    "photo picture image is are there in what how many color colour size big small large "
    "Q: A: Answer answer the question using single word or phrase Is Are What How Which Where "
    "Reply unanswerable if information not present background shown "
    "cross crosses gray there Please please center centre photo picture Yes No"
).split()
_SENTENCES = [
    "a photo of a red circle",
    "a photo of two blue squares",
    "a photo of three green triangles",
    "a photo of a yellow circle left of a purple square",
    "a photo of a pink triangle above a brown circle",
    "Q: What color is the circle? Answer the question using a single word or phrase. A: red",
    "Q: Is there a blue square in the image? Answer the question using a single word or phrase. A: yes",
    "Q: How many triangles are there? Answer the question using a single word or phrase. A: 2",
    "Q: Is the circle left of the square? Answer the question using a single word or phrase. A: no",
    "a black square below a white triangle and an orange circle",
    "three shapes: a purple triangle, a yellow circle and a blue circle",
    "a red square on the left, a green cross in the center and a blue circle at the top",
]


@dataclass(frozen=True)
class TinySizes:
    """Sizes of a tiny D-DiT.  The image side is `resolution`; latents are resolution / 2**(len(vae_channels)-1)."""

    resolution: int = 32
    vae_channels: tuple = (16, 32)  # one entry per VAE level; downsampling 2**(levels-1)
    latent_channels: int = 4
    patch_size: int = 2
    num_layers: int = 2
    num_heads: int = 4
    head_dim: int = 16
    t5_dim: int = 32
    t5_layers: int = 2
    t5_heads: int = 4
    t5_ff: int = 64
    extra_ids: int = 16
    vocab_size: Optional[int] = None  # total tokenizer length; None = trained pieces + extra ids
    text_length: int = 48  # i2t default length (real checkpoints: 128)
    t2i_text_length: int = 32  # t2i T5 length (real checkpoints: 256)
    vae_scaling_factor: float = 1.5
    vae_shift_factor: float = 0.05
    scheduler_shift: float = 3.0
    sample_size: Optional[int] = None  # transformer config sample_size; None = resolution's latent side
    pooled_projection_dim: Optional[int] = None  # recorded, unused; None = width


# The released model's sizes (SD3-medium transformer, T5-XXL encoder, SD3 VAE), for benchmarks.
REAL_SIZES = dict(resolution=512, vae_channels=(128, 256, 512, 512), latent_channels=16, patch_size=2,
                  num_layers=24, num_heads=24, head_dim=64, t5_dim=4096, t5_layers=24, t5_heads=64, t5_ff=10240,
                  extra_ids=100, vocab_size=32100, text_length=128, t2i_text_length=256,
                  vae_scaling_factor=1.5305, vae_shift_factor=0.0609, scheduler_shift=3.0,
                  sample_size=128, pooled_projection_dim=2048)


def build_tokenizer(extra_ids: int = 16, vocab_size: Optional[int] = None) -> T5TokenizerFast:
    """A T5 tokenizer: `<pad>`=0, `</s>`=1, `<unk>`=2, trained Unigram pieces, then `<extra_id_N>` in reverse.

    As in T5, `<extra_id_0>` is the last id.  Whole words of the word list are added as pieces so
    that each is one token.  `vocab_size` pads the piece list with unused fillers to that total.
    """
    trained = Tokenizer(models.Unigram())
    trained.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)])
    trainer = trainers.UnigramTrainer(vocab_size=400, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>",
                                      shrinking_factor=0.9, max_piece_length=16)
    trained.train_from_iterator([w for w in _WORDS for _ in range(20)] + _SENTENCES * 20, trainer)
    scores = {p: s for p, s in json.loads(trained.to_str())["model"]["vocab"]}
    scores.update({f"▁{w}": max(scores.get(f"▁{w}", -1.0), -1.0) for w in _WORDS})
    specials = ["<pad>", "</s>", "<unk>"]
    # The trainer's piece order and last score digits vary between runs: sort pieces by name and
    # round scores so that ids and segmentations are reproducible.
    pieces = [(p, round(scores[p], 1)) for p in specials] + sorted(
        (p, round(sc, 1)) for p, sc in scores.items() if p not in specials)
    if vocab_size is not None:
        fillers = vocab_size - extra_ids - len(pieces)
        if fillers < 0:
            raise ValueError(f"vocab_size={vocab_size} is below the {len(pieces) + extra_ids} tokens the tiny tokenizer needs")
        pieces += [(f"<unused_{i}>", -100.0) for i in range(fillers)]
    pieces += [(f"<extra_id_{i}>", 0.0) for i in range(extra_ids - 1, -1, -1)]
    return T5TokenizerFast(vocab=[(p, float(s)) for p, s in pieces], extra_ids=extra_ids)


def build_tiny_components(seed: int = 0, **sizes) -> dict:
    """The five components of a random D-DiT, in memory (fp32, on the current default device), with its
    `defaults` (DDiTDefaults) and `sizes`."""
    s = TinySizes(**sizes)
    torch.manual_seed(seed)
    tokenizer = build_tokenizer(s.extra_ids, s.vocab_size)
    vocab = len(tokenizer)
    levels = len(s.vae_channels)
    vae = AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * levels,
                        up_block_types=("UpDecoderBlock2D",) * levels, block_out_channels=tuple(s.vae_channels),
                        layers_per_block=1 if s.vae_channels[0] < 128 else 2, latent_channels=s.latent_channels,
                        norm_num_groups=min(32, s.vae_channels[0]), sample_size=s.resolution,
                        scaling_factor=s.vae_scaling_factor, shift_factor=s.vae_shift_factor,
                        use_quant_conv=False, use_post_quant_conv=False)
    t5 = T5EncoderModel(T5Config(vocab_size=vocab, d_model=s.t5_dim, d_kv=s.t5_dim // s.t5_heads, d_ff=s.t5_ff,
                                 num_layers=s.t5_layers, num_heads=s.t5_heads, feed_forward_proj="gated-gelu",
                                 relative_attention_num_buckets=32, pad_token_id=0, eos_token_id=1,
                                 decoder_start_token_id=0, is_encoder_decoder=False))
    latent = s.resolution // 2 ** (levels - 1)
    transformer = SD3JointModelFlexible(
        vocab_size=vocab, sample_size=s.sample_size or latent, patch_size=s.patch_size, in_channels=s.latent_channels,
        num_layers=s.num_layers, attention_head_dim=s.head_dim, num_attention_heads=s.num_heads,
        joint_attention_dim=s.t5_dim, caption_projection_dim=s.num_heads * s.head_dim,
        pooled_projection_dim=s.pooled_projection_dim or s.num_heads * s.head_dim, out_channels=s.latent_channels,
        pos_embed_max_size=max(latent // s.patch_size * 3, 8) if s.resolution < 512 else 192)
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=s.scheduler_shift)
    defaults = DDiTDefaults(resolution=s.resolution, text_length=s.text_length, t2i_text_length=s.t2i_text_length)
    return dict(transformer=transformer, vae=vae, text_encoder=t5, tokenizer=tokenizer, scheduler=scheduler,
                defaults=defaults, sizes=dataclasses.asdict(s))


def save_components(path: str | Path, components: dict) -> Path:
    """Save components in the official diffusers layout, with `model_index.json` (recording `defaults`)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for name in ("transformer", "vae", "text_encoder", "tokenizer", "scheduler"):
        components[name].save_pretrained(path / name)
    index = {
        "_class_name": "DualDiffSD3Pipeline",
        "_diffusers_version": "0.42.1",
        "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
        "text_encoder": ["transformers", "T5EncoderModel"],
        "tokenizer": ["transformers", "T5TokenizerFast"],
        "transformer": ["ddit_eval.model", "SD3JointModelFlexible"],
        "vae": ["diffusers", "AutoencoderKL"],
    }
    index = components.get("defaults", DDiTDefaults()).to_index(index)
    (path / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
    return path


def build_tiny_checkpoint(path: str | Path, seed: int = 0, **sizes) -> Path:
    """Build a random tiny D-DiT (sizes: see `TinySizes`) and save it in the official layout at `path`."""
    return save_components(path, build_tiny_components(seed=seed, **sizes))


def random_model(device: str = "cpu", dtype: str = "fp32", seed: int = 0, real_sizes: bool = False, **sizes):
    """A `DDiTModel` with random weights built in memory on `device` (no files): tiny sizes, or with
    `real_sizes=True` the released model's sizes (SD3-medium + T5-XXL + SD3 VAE), for benchmarks."""
    dev, dt = pick_device_dtype(device, dtype)
    with torch.device(dev):
        parts = build_tiny_components(seed=seed, **{**(REAL_SIZES if real_sizes else {}), **sizes})
    for name in ("transformer", "vae", "text_encoder"):
        parts[name].eval().requires_grad_(False)
        if dt != torch.float32:
            parts[name].to(dtype=dt)
    return DDiTModel(parts["transformer"], parts["vae"], parts["text_encoder"], parts["tokenizer"], parts["scheduler"],
                     defaults=parts["defaults"], checkpoint="random-real-sizes" if real_sizes else "random-tiny", name="ddit-random")
