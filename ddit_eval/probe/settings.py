"""The feature-probe task's settings, their checks, and the list-valued ones parsed.

Defaults are the paper's protocol where it is known (GPT-2 decoder, COCO captions, VQAv2 val,
0 and 32 shots, GPT-4 as answerer) and ClipCap's training recipe where the paper says nothing
(prefix 10, batch 40, lr 2e-5, 5,000 warm-up steps, 10 epochs, GPT-2 fine-tuned).
"""

from __future__ import annotations

from typing import Any

from ddit_eval.data import check_dataset
from ddit_eval.metrics.vqa import RULES as VQA_RULES
from ddit_eval.settings import existing_path, integer, number, one_of, optional_int

KARPATHY_SPLITS = ("train", "restval", "val", "test")
PAPER_ANSWERER = "GPT-4 (OpenAI chat model; the paper does not name a snapshot)"

DEFAULTS: dict[str, Any] = {
    # encoders
    "encoders": "ddit,clip", "ddit_layer": -1, "ddit_pooling": "mean", "ddit_context": "masked",
    "clip_weights": "openai/clip-vit-large-patch14", "cache_dir": None,
    # decoder and its training data
    "karpathy_file": None, "images_dir": None, "train_splits": "train", "train_images": None,
    "decoder_weights": "gpt2", "prefix_length": 10, "caption_tokens": 40, "epochs": 10, "train_steps": None,
    "train_batch_size": 40, "lr": 2e-5, "warmup_steps": 5000, "checkpoint_every": 1000, "finetune_decoder": True,
    # questions, prompts, answerer
    "vqa_dataset": "lmms-lab/VQAv2", "vqa_revision": None, "vqa_split": "validation", "vqa_rule": "official",
    "shots": "0,32", "icl_pool_size": 256, "answerer": "endpoint", "answerer_model": "gpt-4",
    "base_url": "https://api.openai.com/v1", "api_key_env": "OPENAI_API_KEY", "answer_tokens": 10, "answerer_workers": 8,
    "infer_batch_size": 32,
    # D-DiT's own answers
    "direct_vqa": "compute", "direct_vqa_run": None,
}


def names(value: str) -> list[str]:
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _encoder_names(value: Any) -> None:
    from ddit_eval.errors import UsageError

    from .encoders import ENCODERS

    if not isinstance(value, str) or not names(value):
        raise ValueError("expected comma-separated encoder names, e.g. ddit,clip")
    for name in names(value):
        try:
            ENCODERS.get(name)
        except UsageError as exc:
            raise ValueError(str(exc)) from None


def _splits(value: Any) -> None:
    if not isinstance(value, str) or not names(value) or not set(names(value)) <= set(KARPATHY_SPLITS):
        raise ValueError(f"expected comma-separated Karpathy splits among {', '.join(KARPATHY_SPLITS)}")


def _shots(value: Any) -> None:
    try:
        counts = shot_counts(value)
    except ValueError:
        counts = []
    if not counts or min(counts) < 0:
        raise ValueError("expected comma-separated shot counts >= 0, e.g. 0,32")


def shot_counts(value: Any) -> list[int]:
    return list(dict.fromkeys(int(part) for part in names(value)))


CHECKS = {
    "encoders": _encoder_names, "ddit_layer": integer(), "ddit_pooling": one_of(("mean", "max")),
    "ddit_context": one_of(("masked", "empty")),
    "karpathy_file": existing_path(kind="Karpathy split file (dataset_coco.json)"),
    "images_dir": existing_path(kind="COCO images folder (holding train2014/)"), "train_splits": _splits,
    "train_images": optional_int(1), "prefix_length": integer(1), "caption_tokens": integer(2), "epochs": integer(1),
    "train_steps": optional_int(1), "train_batch_size": integer(1), "lr": number(0), "warmup_steps": integer(0),
    "checkpoint_every": integer(1), "vqa_dataset": check_dataset, "vqa_rule": one_of(VQA_RULES), "shots": _shots,
    "icl_pool_size": integer(1), "answerer": one_of(("endpoint", "hf")), "answer_tokens": integer(1),
    "answerer_workers": integer(1), "infer_batch_size": integer(1), "direct_vqa": one_of(("compute", "from-run", "skip")),
    "direct_vqa_run": existing_path(kind="vqav2 run folder"),
}
