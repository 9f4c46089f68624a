"""The feature-probe task's settings: one frozen declaration, in sections (encoders, decoder, questions,
answerer, D-DiT's own answers) that `ProbeSettings` joins under flat names (`--set feature-probe.shots=0,32`).

Defaults are the paper's protocol where it is known (GPT-2 decoder, COCO captions, VQAv2 val,
0 and 32 shots, GPT-4 as answerer) and ClipCap's training recipe where the paper says nothing
(prefix 10, batch 40, lr 2e-5, 5,000 warm-up steps, 10 epochs, GPT-2 fine-tuned).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ddit_eval.data import check_dataset
from ddit_eval.metrics.vqa import RULES as VQA_RULES
from ddit_eval.setting_checks import described, existing_path
from ddit_eval.settings import Settings, setting

KARPATHY_SPLITS = ("train", "restval", "val", "test")
PAPER_ANSWERER = "GPT-4 (OpenAI chat model; the paper does not name a snapshot)"


@described("a registered encoder")
def known_encoder(name: Any) -> None:
    from ddit_eval.errors import UsageError

    from .encoders import ENCODERS

    try:
        ENCODERS.get(name)
    except UsageError as exc:
        raise ValueError(str(exc)) from None


@dataclass(frozen=True)
class EncoderSettings(Settings):
    """The image encoders compared, and how D-DiT's features are taken."""

    encoders: tuple[str, ...] = setting(("ddit", "clip"), "image encoders compared, in order (the first one's "
                                        "0-shot accuracy is the headline)", item="encoder name", check=known_encoder)
    ddit_layer: int = setting(-1, "D-DiT block whose image tokens are the features (-1: the last)")
    ddit_pooling: str = setting("mean", "how D-DiT's image tokens are pooled into one vector", choices=("mean", "max"))
    ddit_context: str = setting("masked", "D-DiT's text side while encoding: every position masked, or empty",
                                choices=("masked", "empty"))
    clip_weights: Optional[str] = setting("openai/clip-vit-large-patch14", "the CLIP encoder's weights (hub id or folder)")
    cache_dir: Optional[str] = setting(None, "feature cache shared across runs (none: inside the run folder)")
    infer_batch_size: int = setting(32, "images per batch when encoding and captioning", minimum=1)


@dataclass(frozen=True)
class DecoderSettings(Settings):
    """The GPT-2 prefix captioner and the COCO captions it is trained on."""

    karpathy_file: Optional[str] = setting(None, "Karpathy's split file dataset_coco.json (required)",
                                           check=existing_path("Karpathy split file (dataset_coco.json)"))
    images_dir: Optional[str] = setting(None, "the local COCO images folder, holding train2014/ (required)",
                                        check=existing_path("COCO images folder (holding train2014/)"))
    train_splits: tuple[str, ...] = setting(("train",), "Karpathy splits the decoder trains on, read in this order",
                                            choices=KARPATHY_SPLITS, item="Karpathy split")
    train_images: Optional[int] = setting(None, "at most this many training images (none: all)", minimum=1)
    decoder_weights: str = setting("gpt2", "GPT-2 weights of the decoder (hub id or folder)")
    prefix_length: int = setting(10, "prefix tokens the features are mapped to", minimum=1)
    caption_tokens: int = setting(40, "caption tokens trained on and generated", minimum=2)
    epochs: int = setting(10, "training epochs over the captions", minimum=1)
    train_steps: Optional[int] = setting(None, "stop after this many steps (none: all the epochs)", minimum=1)
    train_batch_size: int = setting(40, "captions per training step", minimum=1)
    lr: float = setting(2e-5, "AdamW learning rate", minimum=0)
    warmup_steps: int = setting(5000, "linear warm-up steps of the learning rate", minimum=0)
    checkpoint_every: int = setting(1000, "steps between resumable checkpoints", minimum=1)
    finetune_decoder: bool = setting(True, "train GPT-2 as well (false: the prefix mapping only)")


@dataclass(frozen=True)
class QuestionSettings(Settings):
    """The VQAv2 questions asked, how they are scored, and the in-context examples."""

    vqa_dataset: str = setting("lmms-lab/VQAv2", "VQAv2 hub id or local copy (as the vqav2 task reads it)",
                               check=check_dataset)
    vqa_revision: Optional[str] = setting(None, "its hub commit, branch or tag (none: main)")
    vqa_split: str = setting("validation", "the VQAv2 split asked")
    vqa_rule: str = setting("official", "VQA accuracy rule (as the vqav2 task)", choices=VQA_RULES)
    shots: tuple[int, ...] = setting((0, 32), "in-context examples per question", minimum=0, unordered=True,
                                     item="shot count")
    icl_pool_size: int = setting(256, "questions the in-context examples are drawn from", minimum=1)


@dataclass(frozen=True)
class AnswererSettings(Settings):
    """The language model that answers from the captions."""

    answerer: str = setting("endpoint", "an OpenAI-compatible chat endpoint, or a local transformers model",
                            choices=("endpoint", "hf"))
    answerer_model: str = setting("gpt-4", "the answerer's model name (endpoint) or weights (hf)")
    base_url: str = setting("https://api.openai.com/v1", "the chat endpoint's base URL")
    api_key_env: Optional[str] = setting("OPENAI_API_KEY", "environment variable holding the endpoint's key "
                                         "(none or empty: no key sent)")
    answer_tokens: int = setting(10, "tokens an answer may have", minimum=1)
    answerer_workers: int = setting(8, "parallel requests to the endpoint", minimum=1)


@dataclass(frozen=True)
class DirectVQASettings(Settings):
    """D-DiT's own answers to the same questions, beside the probe's."""

    direct_vqa: str = setting("compute", "compute them, read them from a vqav2 run, or skip them",
                              choices=("compute", "from-run", "skip"))
    direct_vqa_run: Optional[str] = setting(None, "the vqav2 run folder of direct_vqa=from-run",
                                            check=existing_path("vqav2 run folder"))


@dataclass(frozen=True)
class ProbeSettings(DirectVQASettings, AnswererSettings, QuestionSettings, DecoderSettings, EncoderSettings):
    """Every feature-probe setting, section by section."""
