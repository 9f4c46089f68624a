"""Deterministic test doubles of a D-DiT model, for exercising the harness without weights.

`double:pixel` looks at the pixels it is given and answers from them: the
colour of the largest non-background region, whether a named colour is present,
how many separate coloured regions there are.  It is a real (weak) model of
the sample, not a stub: its answers change with the image and the question.

Options ride on the spec like a URL query: `double:pixel?delay=0.05&wrong=0.3&fail=bad`.
- delay: seconds of sleep per row (makes kill/resume testing possible);
- wrong: probability, drawn from the request seed, of answering "unknown" (a worse model);
- fail: raise for any request whose id contains this text (a model error).
A double runs on the CPU (numpy), whatever the machine has; `--device cuda` is refused.
"""

from __future__ import annotations

import difflib
import random
import time
from typing import Sequence
from urllib.parse import parse_qsl

import numpy as np
from PIL import Image

from .api import AnswerRequest, CaptionRequest, ImageRequest
from .errors import UsageError
from .prompts import TEXT_WINDOW
from .shapes.scenes import BACKGROUND, COLOR_RGB

PALETTE = {c: COLOR_RGB[c] for c in ("red", "green", "blue", "yellow", "purple", "orange", "white", "black")}
_NUMBER = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


def _colour_counts(image: Image.Image) -> dict[str, int]:
    """Pixels per palette colour, by nearest colour; the background is not counted."""
    pixels = np.asarray(image.convert("RGB").resize((32, 32), Image.NEAREST), dtype=np.int32).reshape(-1, 3)
    names = ["background", *PALETTE]
    centres = np.array([BACKGROUND, *PALETTE.values()], dtype=np.int32)
    nearest = ((pixels[:, None, :] - centres[None]) ** 2).sum(-1).argmin(1)
    counts = np.bincount(nearest, minlength=len(names))
    return {name: int(c) for name, c in zip(names, counts) if name != "background" and c > 4}


class PixelModel:
    """Answers from the image's colours; see the module docstring."""

    text_window = TEXT_WINDOW  # it reads whole prompts and ignores lengths: whatever a task asks fits

    def __init__(self, delay: float = 0.0, wrong: float = 0.0, fail: str = "") -> None:
        self.delay, self.wrong, self.fail = delay, wrong, fail
        self.name = "double-pixel"

    def config(self) -> dict:
        return {"kind": "test double", "name": self.name, "device": "cpu", "delay": self.delay, "wrong": self.wrong,
                "fail": self.fail}

    def take_notes(self) -> list[str]:
        """Nothing to note: a double never clamps a request."""
        return []

    def prepare(self, request):
        """Nothing to do ahead of time: the double reads the image as given."""
        return request

    def network_calls(self) -> None:
        """A double has no network to count."""
        return None

    def _check(self, request) -> None:
        if self.delay:
            time.sleep(self.delay)
        if self.fail and self.fail in request.id:
            raise RuntimeError(f"planted model failure on {request.id!r}")

    def _is_wrong(self, seed: int) -> bool:
        return self.wrong > 0 and random.Random(seed).random() < self.wrong

    def answer(self, requests: Sequence[AnswerRequest]) -> list[str]:
        out = []
        for r in requests:
            self._check(r)
            counts = _colour_counts(r.image)
            question = r.prompt.lower()
            if self._is_wrong(r.seed):
                out.append("unknown")
            elif question.removeprefix("q: ").startswith(("is ", "are ", "does ")):  # the "Q: " frame, once
                named = [c for c in PALETTE if c in question]
                out.append("yes" if named and all(c in counts for c in named) else "no")
            elif "how many" in question:
                out.append(_NUMBER.get(len(counts), str(len(counts))))
            else:
                out.append(max(counts, key=counts.get) if counts else "none")
        return out

    def caption(self, requests: Sequence[CaptionRequest]) -> list[str]:
        out = []
        for r in requests:
            self._check(r)
            counts = sorted(_colour_counts(r.image).items(), key=lambda kv: -kv[1])
            out.append("a picture of " + " and ".join(f"a {c} shape" for c, _ in counts) if counts else "an empty picture")
        return out

    def generate_images(self, requests: Sequence[ImageRequest]) -> list[list[Image.Image]]:
        out = []
        for r in requests:
            self._check(r)
            named = [c for c in PALETTE if c in r.prompt.lower()]
            size = r.resolution or 64
            images = []
            for k in range(r.num_images):
                rng = np.random.default_rng([r.seed, k])
                canvas = np.full((size, size, 3), BACKGROUND, dtype=np.uint8)
                for i, colour in enumerate(named[:3]):
                    x0 = int(rng.integers(0, size // 2))
                    canvas[size // 4 : size // 4 + size // 3, x0 : x0 + size // 3] = PALETTE[colour]
                images.append(Image.fromarray(canvas))
            out.append(images)
        return out


DOUBLES = {"pixel": PixelModel}
# option -> (what it takes, its parser: raises ValueError on a bad value)
OPTIONS = {"delay": ("seconds >= 0", lambda v: _number(v, 0.0, float("inf"))),
           "wrong": ("a probability in [0, 1]", lambda v: _number(v, 0.0, 1.0)),
           "fail": ("text", str)}
KNOWN = "known options: " + ", ".join(f"{k} ({what})" for k, (what, _) in OPTIONS.items())


def _number(text: str, low: float, high: float) -> float:
    value = float(text)
    if not low <= value <= high:  # also refuses nan
        raise ValueError
    return value


def parse_double(spec: str) -> tuple[str, dict]:
    """`double:<name>[?key=value&...]` -> (name, options); any bad part is one line, before any work."""
    name, _, query = spec[len("double:") :].partition("?")
    if name not in DOUBLES:
        close = difflib.get_close_matches(name, DOUBLES, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(DOUBLES)}"
        raise UsageError(f"unknown test double {name!r}; {hint}")
    options: dict = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in OPTIONS:
            raise UsageError(f"test double option {key!r} is unknown; {KNOWN}")
        if key in options:
            raise UsageError(f"test double option {key!r} is given twice; {KNOWN}")
        try:
            options[key] = OPTIONS[key][1](value)
        except ValueError:
            raise UsageError(f"test double option {key}={value!r}: expected {OPTIONS[key][0]}; {KNOWN}") from None
    return name, options


def load_double(spec: str) -> PixelModel:
    """Build a double from `double:<name>[?key=value&...]`."""
    name, options = parse_double(spec)
    return DOUBLES[name](**options)
