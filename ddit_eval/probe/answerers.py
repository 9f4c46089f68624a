"""The language model that answers a VQA question from a caption.

- `HFAnswerer`: a local Hugging Face causal LM (hub id or folder), greedy, the prompt as plain text.
- `ChatAnswerer`: an OpenAI-compatible `/chat/completions` endpoint (base URL + model name), the
  prompt as one user message, temperature 0; the key comes from an environment variable whose
  *name* is a setting (the key itself is never recorded).  Plain `urllib`, no client package.

Both return the first non-empty line of the reply.  `identity()` goes into the results.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Optional, Sequence

import torch

from ddit_eval.errors import UsageError

from .settings import ProbeSettings


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


class HFAnswerer:
    """A local causal LM, greedy decoding, prompts batched with left padding."""

    def __init__(self, weights: str, device: torch.device, max_new_tokens: int) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(weights, padding_side="left")
            self.model = AutoModelForCausalLM.from_pretrained(weights).to(device).eval()
        except (OSError, ValueError) as exc:
            raise UsageError(f"feature-probe: cannot load answerer_model {weights!r}: {str(exc).strip().splitlines()[0]}") from None
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.weights, self.device, self.max_new_tokens = weights, device, max_new_tokens

    def identity(self) -> dict:
        from .encoders import weights_fingerprint

        return {"kind": "hf", "model": self.weights, **weights_fingerprint(self.weights, self.model.config),
                "decoding": "greedy", "max_new_tokens": self.max_new_tokens}

    @torch.inference_mode()
    def answer(self, prompts: Sequence[str]) -> list[str]:
        batch = self.tokenizer(list(prompts), return_tensors="pt", padding=True).to(self.device)
        limit = getattr(self.model.config, "max_position_embeddings", None) or getattr(self.model.config, "n_positions", None)
        if limit and batch.input_ids.shape[1] + self.max_new_tokens > limit:
            raise ValueError(f"prompt of {batch.input_ids.shape[1]} tokens + {self.max_new_tokens} new ones exceeds "
                             f"the answerer's {limit}-token context (use fewer shots or a longer-context model)")
        out = self.model.generate(**batch, max_new_tokens=self.max_new_tokens, do_sample=False, num_beams=1,
                                  pad_token_id=self.tokenizer.pad_token_id)
        new = out[:, batch.input_ids.shape[1]:]
        return [first_line(text) for text in self.tokenizer.batch_decode(new, skip_special_tokens=True)]


class ChatAnswerer:
    """An OpenAI-compatible chat endpoint; prompts go out `workers` at a time, with retries on 429/5xx."""

    def __init__(self, base_url: str, model: str, api_key_env: Optional[str], max_new_tokens: int, workers: int = 8,
                 timeout_s: float = 60.0, retries: int = 4) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model, self.api_key_env, self.max_new_tokens = model, api_key_env, max_new_tokens
        self.workers, self.timeout_s, self.retries = workers, timeout_s, retries

    def identity(self) -> dict:
        return {"kind": "endpoint", "url": self.url, "model": self.model, "api_key_env": self.api_key_env,
                "temperature": 0, "max_tokens": self.max_new_tokens, "message": "one user message holding the prompt"}

    def answer(self, prompts: Sequence[str]) -> list:
        """One reply per prompt, in order; a prompt that fails for good gives its exception in its place."""
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(self._guarded, prompts))

    def _guarded(self, prompt: str):
        try:
            return self._ask(prompt)
        except Exception as exc:  # noqa: BLE001 - recorded as that question's error
            return exc

    def _ask(self, prompt: str) -> str:
        body = json.dumps({"model": self.model, "messages": [{"role": "user", "content": prompt}],
                           "temperature": 0, "max_tokens": self.max_new_tokens}).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key_env:
            headers["Authorization"] = f"Bearer {os.environ.get(self.api_key_env, '')}"
        for attempt in range(self.retries + 1):
            try:
                request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    reply = json.loads(response.read())
                return first_line(reply["choices"][0]["message"]["content"] or "")
            except urllib.error.HTTPError as exc:
                if exc.code != 429 and exc.code < 500 or attempt == self.retries:
                    raise RuntimeError(f"{self.url} answered HTTP {exc.code}: {exc.read()[:200]!r}") from None
            except (urllib.error.URLError, TimeoutError) as exc:
                if attempt == self.retries:
                    raise RuntimeError(f"{self.url} unreachable: {exc}") from None
            time.sleep(min(30.0, 2.0 ** attempt))
        raise AssertionError("unreachable")


def check_answerer_settings(settings: ProbeSettings) -> None:
    """One line before any model work: an endpoint needs a URL and its key variable set."""
    if settings.answerer == "endpoint":
        env = key_variable(settings)
        if env and not os.environ.get(env):
            raise UsageError(f"feature-probe: the answerer endpoint's key variable ${env} is not set (export it, set "
                             "api_key_env to another variable or to none, or use answerer=hf with a local model)")


def key_variable(settings: ProbeSettings) -> Optional[str]:
    """The name of the variable holding the endpoint's key; None (no Authorization header) for "" or "none"."""
    env = settings.api_key_env
    return None if env is None or str(env).strip().lower() in ("", "none") else str(env)


def build_answerer(settings: ProbeSettings, device: torch.device):
    s = settings
    if s.answerer == "hf":
        return HFAnswerer(s.answerer_model, device, s.answer_tokens)
    return ChatAnswerer(s.base_url, s.answerer_model, key_variable(s), s.answer_tokens, s.answerer_workers)


def describe_answerer(settings: ProbeSettings) -> dict:
    """The answerer's identity from the settings alone (nothing loaded, no request made)."""
    s = settings
    if s.answerer == "hf":
        return {"kind": "hf", "model": s.answerer_model, "decoding": "greedy", "max_new_tokens": s.answer_tokens}
    return ChatAnswerer(s.base_url, s.answerer_model, key_variable(s), s.answer_tokens).identity()
