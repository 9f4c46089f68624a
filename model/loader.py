"""Load a D-DiT checkpoint (official diffusers layout, local folder or hub id) into a `DDiTModel`.

Checks come first and fail with one line naming what is missing:
the path, `model_index.json`, a component entry or folder, its config, its weights, the
transformer class, or a config entry the backend reads (`vocab_size`, the VAE `scaling_factor`).
A component that fails to load anyway (corrupt weights, shape mismatch) gives one line naming it.
Every size is read from the checkpoint's configs.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Optional

import torch
from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler
from transformers import T5EncoderModel, T5TokenizerFast

from ddit_eval.errors import UsageError

from .backend import DDiTModel
from .codec import MASK_TOKEN
from .defaults import DDiTDefaults
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
# config entries the backend reads and that must not silently fall back to a class default
REQUIRED_KEYS = {"transformer": ("vocab_size", "in_channels", "patch_size"), "vae": ("scaling_factor",)}
DTYPES = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16, "float16": torch.float16,
          "fp32": torch.float32, "float32": torch.float32}


def resolve_checkpoint(spec: str) -> Path:
    """A local folder, or a hub id downloaded (and cached) with huggingface_hub."""
    from ddit_eval.environment import is_local_path

    path = Path(spec).expanduser()
    if is_local_path(spec):
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
    index = _read_json(path, "model_index.json")
    if not isinstance(index, dict):
        raise UsageError(f"model {str(path)!r}: model_index.json is not a JSON object")
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
    transformer_config = _read_json(path, "transformer/config.json")
    cls = cls or transformer_config.get("_class_name")
    if cls != TRANSFORMER_CLASS:
        raise UsageError(f"model {str(path)!r} is not a D-DiT checkpoint: transformer class is {cls!r}, expected {TRANSFORMER_CLASS!r}")
    for name, keys in REQUIRED_KEYS.items():
        config = transformer_config if name == "transformer" else _read_json(path, f"{name}/config.json")
        missing = [k for k in keys if config.get(k) is None]
        if missing:
            raise UsageError(f"model {str(path)!r}: {name}/config.json has no {missing[0]!r}")
    return index


def _read_json(path: Path, name: str) -> dict:
    try:
        return json.loads((path / name).read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"model {str(path)!r}: {name} is not readable JSON ({type(exc).__name__})") from exc


def pick_device_dtype(device: str = "auto", dtype: str = "auto") -> tuple[torch.device, torch.dtype]:
    """cuda + bf16 when available, else cpu + fp32; explicit choices are checked."""
    from ddit_eval.environment import resolve_device

    dev = torch.device(resolve_device(device))
    if dtype == "auto":
        return dev, torch.bfloat16 if dev.type == "cuda" else torch.float32
    if dtype not in DTYPES:
        raise UsageError(f"--dtype {dtype!r}: must be one of auto, bf16, fp16, fp32")
    return dev, DTYPES[dtype]


def _load_t5(folder: Path, dtype: torch.dtype):
    try:
        return T5EncoderModel.from_pretrained(folder, torch_dtype=dtype, attn_implementation="sdpa")
    except (ValueError, ImportError):  # a transformers without SDPA for T5
        return T5EncoderModel.from_pretrained(folder, torch_dtype=dtype)


def load_components(path: Path, device: torch.device, dtype: torch.dtype) -> dict:
    """The five components from a checked checkpoint folder, in eval mode on `device`.

    A component that fails to load (corrupt or truncated weights, missing or unexpected
    parameters, sizes that disagree with its config) gives a one-line error naming it.
    """
    loaders = {
        "transformer": lambda f: SD3JointModelFlexible.from_pretrained(f, torch_dtype=dtype),
        "vae": lambda f: AutoencoderKL.from_pretrained(f, torch_dtype=dtype),
        "text_encoder": lambda f: _load_t5(f, dtype),
        "tokenizer": T5TokenizerFast.from_pretrained,
        "scheduler": FlowMatchEulerDiscreteScheduler.from_pretrained,
    }
    parts = {}
    for name, load in loaders.items():
        try:
            with quiet_progress_bars():
                parts[name] = load(path / name)
        except Exception as exc:  # noqa: BLE001 - any failure becomes one line naming the component
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise UsageError(f"model {str(path)!r}: component {name!r} could not be loaded "
                             f"({type(exc).__name__}: {first[:300]})") from exc
    _check_vocab(path, parts["transformer"], parts["text_encoder"], parts["tokenizer"])
    for name in ("transformer", "vae", "text_encoder"):
        parts[name].to(device).eval().requires_grad_(False)
    return parts


@contextlib.contextmanager
def quiet_progress_bars():
    """No "Loading weights" bars from transformers/diffusers while we load; their previous state comes back after."""
    import diffusers.utils.logging as diffusers_logging
    import transformers.utils.logging as transformers_logging

    libraries = [(lib, lib.is_progress_bar_enabled()) for lib in (transformers_logging, diffusers_logging)]
    for lib, _ in libraries:
        lib.disable_progress_bar()
    try:
        yield
    finally:
        for lib, enabled in libraries:
            if enabled:
                lib.enable_progress_bar()


def _check_vocab(path: Path, transformer, text_encoder, tokenizer) -> None:
    """The mask token must exist and be a row of both the T5 embedding and the transformer's logits."""
    mask = tokenizer.convert_tokens_to_ids(MASK_TOKEN)
    if mask is None or mask == tokenizer.unk_token_id:
        raise UsageError(f"model {str(path)!r} is not a D-DiT checkpoint: the tokenizer has no {MASK_TOKEN} (mask) token")
    rows = {"transformer vocab_size": transformer.config.vocab_size,
            "text_encoder vocab_size": text_encoder.get_input_embeddings().weight.shape[0]}
    for what, size in rows.items():
        if mask >= size:
            raise UsageError(f"model {str(path)!r}: {what} is {size}, too small for the mask token id {mask}")


def read_mask_embedding(source: str) -> torch.Tensor:
    """The aligned mask embedding as a 1-D fp32 tensor, from a tensor file (.pt/.pth/.safetensors/.npy;
    the released one is `aligned_t5_mask_emb/mask_token_emb.00-of-01.pth`, a plain tensor) or a folder
    holding exactly one such file."""
    path = Path(source).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".pt", ".pth", ".safetensors", ".npy"))
        if len(files) != 1:
            raise UsageError(f"mask_embedding {source!r}: expected one .pt/.pth/.safetensors/.npy file in the folder, found {len(files)}")
        path = files[0]
    if not path.exists():
        raise UsageError(f"mask_embedding {source!r}: no such file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            tensors = load_file(str(path))
            vector = tensors["weight"] if "weight" in tensors else next(iter(tensors.values()))
        elif path.suffix == ".npy":
            import numpy as np

            vector = torch.from_numpy(np.load(path))
        else:
            vector = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(vector, dict):
                vector = next(iter(vector.values()))
        return torch.as_tensor(vector).detach().float().reshape(-1)
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - unreadable file: one line
        raise UsageError(f"mask_embedding {source!r}: not a readable tensor file ({type(exc).__name__})") from exc


def overwrite_mask_embedding(text_encoder, tokenizer, source, name: Optional[str] = None) -> None:
    """Put the aligned mask embedding (a path, see `read_mask_embedding`, or a tensor) into the T5
    input-embedding row of `<extra_id_0>`.  `name` names the source in errors."""
    is_path = isinstance(source, (str, Path))
    vector = read_mask_embedding(str(source)) if is_path else torch.as_tensor(source).reshape(-1)
    name = name or (str(source) if is_path else "tensor")
    table = text_encoder.get_input_embeddings().weight
    if vector.numel() != table.shape[1]:
        raise UsageError(f"mask_embedding {name!r}: has {vector.numel()} values, the T5 embedding has {table.shape[1]}")
    with torch.no_grad():
        table[tokenizer.convert_tokens_to_ids(MASK_TOKEN)] = vector.to(table.device, table.dtype)


def load_model(spec: str, device: str = "auto", dtype: str = "auto", mask_embedding: Optional[str] = None,
               **defaults) -> DDiTModel:
    """Load a D-DiT checkpoint.  `defaults` override `DDiTDefaults` fields (e.g. draw="gumbel")."""
    path = resolve_checkpoint(spec)
    settings = DDiTDefaults.from_index(check_checkpoint(path), **defaults)  # an unknown option fails before loading
    dev, dt = pick_device_dtype(device, dtype)
    vector = read_mask_embedding(mask_embedding) if mask_embedding else None  # bad file: fail before loading
    components = load_components(path, dev, dt)
    if vector is not None:
        overwrite_mask_embedding(components["text_encoder"], components["tokenizer"], vector, name=mask_embedding)
    return DDiTModel(**components, defaults=settings, checkpoint=str(spec), name=path.name or "ddit")
