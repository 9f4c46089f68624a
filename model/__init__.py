"""The D-DiT inference backend.

- `load_model(spec, device="auto", dtype="auto", mask_embedding=None, **defaults)` -> `DDiTModel`
- `DDiTModel`: the `ddit_eval.api.Model` implementation (backend.py)
- `DDiTCodec`: its tokenizer, T5 and VAE encoders, shared with the trainer (codec.py)
- `DDiTDefaults`: default settings, and how a checkpoint records them (defaults.py)
- `image_features`: probe features, the image stream after one joint block (features.py)
- `SD3JointModelFlexible`: the transformer (official parameter names)
- `build_tiny_checkpoint(path, seed=0, **sizes)`: a random tiny D-DiT in the official layout
"""

from .backend import DDiTModel, InfillJob
from .codec import DDiTCodec
from .defaults import DDiTDefaults
from .features import image_features
from .loader import load_model
from .tiny import REAL_SIZES, TinySizes, build_tiny_checkpoint, build_tiny_components
from .transformer import SD3JointModelFlexible

__all__ = ["DDiTCodec", "DDiTDefaults", "DDiTModel", "InfillJob", "image_features", "load_model",
           "SD3JointModelFlexible", "build_tiny_checkpoint", "build_tiny_components", "TinySizes", "REAL_SIZES"]
