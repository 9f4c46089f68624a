"""The text-to-image settings every generation task shares (no task is registered here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ddit_eval.settings import Settings, setting


@dataclass(frozen=True)
class ImageGenerationSettings(Settings):
    """How the model draws: each none is the model's own default."""

    resolution: Optional[int] = setting(None, "generated image size in pixels (none: the model's native)", minimum=8)
    steps: Optional[int] = setting(None, "image diffusion steps (none: the model's default)", minimum=1)
    guidance: Optional[float] = setting(None, "classifier-free guidance scale (none: the model's default)", minimum=0)
