"""Load a D-DiT checkpoint (official diffusers layout, local folder or hub id) into a `DDiTModel`.

Checks come first and fail with one line naming what is missing:
the path, `model_index.json`, a component entry or folder, its config, its weights, or the
transformer class.  Every size is read from the checkpoint's configs.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Optional

import torch
from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler
from transformers import T5EncoderModel, T5TokenizerFast

from ddit_eval.errors import UsageError

from .backend import MASK_TOKEN, DDiTDefaults, DDiTModel
from .tiny import DEFAULTS_KEY
from .transformer import SD3JointModelFlexible

TRANSFORMER_CLASS = "SD3JointModelFlexible"
# component -> (config file, weight file stems); a component folder must hold both.
COMPONENTS = {
    "transformer": ("config.json", ("diffusion_pytorch_model",)),
    "vae": ("config.json", ("diffusion_pytorch_model",)),
    "text_encoder": ("config.json", ("model", "pytorch_model")),
    "tokenizer": ("tokenizer_config.json", ("tokenizer.json", "spiece.model")),
    "scheduler": ("scheduler_config.json", ()),
}
DTYPES = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16, "float16": torch.float16,
          "fp32": torch.float32, "float32": torch.float32}


def resolve_checkpoint(spec: str) -> Path:
    """A local folder, or a hub id downloaded (and cached) with huggingface_hub."""
    path = Path(spec).expanduser()
    if path.exists() or spec.startswith(("/", ".", "~")) or spec.count("/") != 1:
        if not path.exists():
            raise UsageError(f"model {spec!r}: no such file or directory")
        return path
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id=spec))
    except Exception as exc:  # offline, unknown repo, no access: one line, with the cause
        raise UsageError(f"model {spec!r}: could not download from the Hugging Face hub "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from exc


def _has_weights(folder: Path, stems: tuple) -> bool:
    for stem in stems:
        if "." in stem:  # a named file (tokenizer)
            if (folder / stem).exists():
                return True
        elif any(folder.glob(f"{stem}*.safetensors")) or any(folder.glob(f"{stem}*.bin")):
            return True
    return not stems


def check_checkpoint(path: Path) -> dict:
    """Validate the layout; return model_index.json's content."""
    if not path.is_dir():
        raise UsageError(f"model {str(path)!r} is not a folder (expected a D-DiT checkpoint folder with model_index.json)")
    index_file = path / "model_index.json"
    if not index_file.exists():
        raise UsageError(f"model {str(path)!r} is not a D-DiT checkpoint: no model_index.json")
    index = json.loads(index_file.read_text())
    for name, (config, stems) in COMPONENTS.items():
        if name not in index:
            raise UsageError(f"model {str(path)!r}: model_index.json lists no {name!r} component")
        folder = path / name
        if not (folder / config).exists():
            raise UsageError(f"model {str(path)!r}: component {name!r} is missing {name}/{config}")
        if not _has_weights(folder, stems):
            raise UsageError(f"model {str(path)!r}: component {name!r} has no weights in {name}/")
    entry = index["transformer"]
    cls = entry[-1] if isinstance(entry, list) else entry
    cls = cls or json.loads((path / "transformer" / "config.json").read_text()).get("_class_name")
    if cls != TRANSFORMER_CLASS:
        raise UsageError(f"model {str(path)!r} is not a D-DiT checkpoint: transformer class is {cls!r}, expected {TRANSFORMER_CLASS!r}")
    return index


def pick_device_dtype(device: str = "auto", dtype: str = "auto") -> tuple[torch.device, torch.dtype]:
    """cuda + bf16 when available, else cpu + fp32; explicit choices are checked."""
    dev = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device))
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device {device!r}: CUDA is not available on this machine")
    if dtype == "auto":
        return dev, torch.bfloat16 if dev.type == "cuda" else torch.float32
    if dtype not in DTYPES:
        raise UsageError(f"--dtype {dtype!r}: must be one of auto, bf16, fp16, fp32")
    return dev, DTYPES[dtype]


def load_components(path: Path, device: torch.device, dtype: torch.dtype) -> dict:
    """The five components from a checked checkpoint folder, in eval mode on `device`."""
    transformer = SD3JointModelFlexible.from_pretrained(path / "transformer", torch_dtype=dtype)
    vae = AutoencoderKL.from_pretrained(path / "vae", torch_dtype=dtype)
    try:
        text_encoder = T5EncoderModel.from_pretrained(path / "text_encoder", torch_dtype=dtype, attn_implementation="sdpa")
    except (ValueError, ImportError):  # a transformers without SDPA for T5
        text_encoder = T5EncoderModel.from_pretrained(path / "text_encoder", torch_dtype=dtype)
    tokenizer = T5TokenizerFast.from_pretrained(path / "tokenizer")
    scheduler = FlowMatchEulerDiscreteScheduler.from_pretrained(path / "scheduler")
    for module in (transformer, vae, text_encoder):
        module.to(device).eval().requires_grad_(False)
    return dict(transformer=transformer, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, scheduler=scheduler)


def overwrite_mask_embedding(text_encoder, tokenizer, source: str) -> None:
    """Put the aligned mask embedding (a tensor file: .pt/.pth/.safetensors/.npy) into the T5 input row of `<extra_id_0>`."""
    path = Path(source).expanduser()
    if not path.exists():
        raise UsageError(f"mask_embedding {source!r}: no such file")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        tensors = load_file(str(path))
        vector = next(iter(tensors.values())) if len(tensors) == 1 else tensors.get("weight", next(iter(tensors.values())))
    elif path.suffix == ".npy":
        import numpy as np

        vector = torch.from_numpy(np.load(path))
    else:
        vector = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(vector, dict):
            vector = next(iter(vector.values()))
    table = text_encoder.get_input_embeddings().weight
    vector = torch.as_tensor(vector).reshape(-1)
    if vector.numel() != table.shape[1]:
        raise UsageError(f"mask_embedding {source!r}: has {vector.numel()} values, the T5 embedding has {table.shape[1]}")
    with torch.no_grad():
        table[tokenizer.convert_tokens_to_ids(MASK_TOKEN)] = vector.to(table.device, table.dtype)


def load_model(spec: str, device: str = "auto", dtype: str = "auto", mask_embedding: Optional[str] = None,
               **defaults) -> DDiTModel:
    """Load a D-DiT checkpoint.  `defaults` override `DDiTDefaults` fields (e.g. draw="gumbel")."""
    path = resolve_checkpoint(spec)
    index = check_checkpoint(path)
    unknown = sorted(set(defaults) - {f.name for f in dataclasses.fields(DDiTDefaults)})
    if unknown:
        raise UsageError(f"load_model: unknown option {unknown[0]!r}")
    dev, dt = pick_device_dtype(device, dtype)
    components = load_components(path, dev, dt)
    if mask_embedding:
        overwrite_mask_embedding(components["text_encoder"], components["tokenizer"], mask_embedding)
    recorded = {k: v for k, v in index.get(DEFAULTS_KEY, {}).items() if k in {f.name for f in dataclasses.fields(DDiTDefaults)}}
    settings = DDiTDefaults(**{**recorded, **defaults})
    return DDiTModel(**components, defaults=settings, checkpoint=str(spec), name=path.name or "ddit")
