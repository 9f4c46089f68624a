"""The D-DiT inference backend.

- `load_model(spec, device="auto", dtype="auto", mask_embedding=None, **defaults)` -> `DDiTModel`
- `DDiTModel`: the `ddit_eval.api.Model` implementation (+ encoders for training)
- `SD3JointModelFlexible`: the transformer (official parameter names)
- `build_tiny_checkpoint(path, seed=0, **sizes)`: a random tiny D-DiT in the official layout
"""

from .backend import DDiTDefaults, DDiTModel
from .loader import load_model
from .tiny import REAL_SIZES, TinySizes, build_tiny_checkpoint, build_tiny_components
from .transformer import SD3JointModelFlexible

__all__ = ["DDiTDefaults", "DDiTModel", "load_model", "SD3JointModelFlexible", "build_tiny_checkpoint",
           "build_tiny_components", "TinySizes", "REAL_SIZES"]
