"""`DDiTDefaults`: a D-DiT's default settings, and how a checkpoint records them.

Released checkpoints record none and get the paper's protocol.  A checkpoint that departs from it
(the tiny shapes model: 32 px, a 40-token text window) records the fields that differ in
`model_index.json` under `_ddit_eval_defaults`, a key diffusers ignores.  `to_index` writes that
key and `from_index` reads it: the only two places that know its name and shape.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from ddit_eval.errors import UsageError
from ddit_eval.prompts import TEXT_WINDOW

DEFAULTS_KEY = "_ddit_eval_defaults"  # where a checkpoint's model_index.json records its DDiTDefaults


@dataclass(frozen=True)
class DDiTDefaults:
    """Default settings (the paper's protocol for released checkpoints)."""

    resolution: int = 512
    t2i_steps: int = 28
    guidance: float = 7.0
    t2i_text_length: int = 256
    text_length: int = TEXT_WINDOW  # the i2t text window: prompt + answer positions of a row
    caption_steps: int = 64
    answer_steps: int = 32
    posterior: str = "sample"  # VAE posterior for i2t: "sample" (official, per-row seeded) or "mean"
    draw: str = "fast"  # "fast" (exact cheap draw) or "gumbel" (official full-vocabulary draw)
    cache: str = "row"  # "row", "batch" (official) or "none"
    max_rows: int = 64  # rows sampled together (a memory bound: larger batches are split; results unchanged)
    call_rows: int = 8  # rows of every transformer and T5 call, the last chunk filled up (see fixed_shape.py)
    vae_rows: int = 1  # rows of every VAE call: a fixed shape too, and one 512 px image's decode is memory enough

    @classmethod
    def names(cls) -> frozenset[str]:
        return frozenset(f.name for f in dataclasses.fields(cls))

    def to_index(self, index: Mapping[str, Any]) -> dict:
        """`index` (a model_index.json's content) recording the fields that differ from the paper's;
        none differing, no key (what a released checkpoint looks like)."""
        paper = DDiTDefaults()
        changed = {k: v for k, v in dataclasses.asdict(self).items() if getattr(paper, k) != v}
        out = {k: v for k, v in index.items() if k != DEFAULTS_KEY}
        return {**out, DEFAULTS_KEY: changed} if changed else out

    @classmethod
    def from_index(cls, index: Mapping[str, Any], **overrides: Any) -> "DDiTDefaults":
        """The defaults `index` records (keys this version does not know are ignored), then `overrides`
        (an unknown one is refused: it is a typo on the command line or in code)."""
        unknown = sorted(set(overrides) - cls.names())
        if unknown:
            raise UsageError(f"load_model: unknown option {unknown[0]!r}")
        recorded = {k: v for k, v in index.get(DEFAULTS_KEY, {}).items() if k in cls.names()}
        return cls(**{**recorded, **overrides})
