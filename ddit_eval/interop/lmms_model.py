"""D-DiT as an lmms-eval model: `lmms-eval --model ddit --model_args pretrained=ID,steps=32,answer_length=16`.

lmms-eval finds this class through the `lmms_eval.models` entry point (see
`ddit_eval.interop`).  Each `generate_until` request becomes an `AnswerRequest`
for the D-DiT backend:
- the context is the prompt; with `prompt_style=ddit` (default) a context in
  lmms-eval's short-answer form is rewritten into D-DiT's own template, the
  one ddit-eval's tasks use (`ddit_eval.prompts`, `tasks/_hub_common.py`): the
  same question and instructions, phrased as D-DiT was trained (lmms-eval's
  "respond with 'Unanswerable'" becomes D-DiT's VizWiz sentence); any other
  context keeps its text inside D-DiT's "Q: ... A: " frame.  `prompt_style=lmms-eval`
  passes the context as it is;
- the answer length is, in order: `answer_length` in --gen_kwargs, in
  --model_args, else the task's `max_new_tokens`; steps likewise (`steps`),
  else the checkpoint's default;
- the seed comes from (seed, task, doc id), so an answer never depends on
  lmms-eval's --batch_size nor on what else shares its batch.
Multi-GPU: launched with accelerate, each rank loads the model on
cuda:LOCAL_RANK and answers the documents lmms-eval gives that rank.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Optional, Sequence

from accelerate import Accelerator
from lmms_eval.api.model import lmms
from PIL import Image
from tqdm import tqdm

from ddit_eval.api import AnswerRequest
from ddit_eval.backends import DEFAULT_MODEL, load_backend_model
from ddit_eval.environment import resolve_device
from ddit_eval.errors import UsageError
from ddit_eval.prompts import DDIT_VQA
from ddit_eval.seeding import sample_seed
from ddit_eval.settings import integer, one_of, optional_int
from ddit_eval.tasks._hub_common import DDIT_VIZWIZ, LMMS_SHORT, LMMS_UNANSWERABLE

PROMPT_STYLES = ("ddit", "lmms-eval")
# lmms-eval's instruction forms and D-DiT's template for each (longest first: the second's suffix ends the first)
DDIT_TEMPLATES = ((LMMS_UNANSWERABLE, DDIT_VIZWIZ), (LMMS_SHORT, DDIT_VQA))
DDIT_FRAME = "Q: {question} A: "  # any other context keeps its own instruction inside D-DiT's Q/A frame

_MODEL_ARG_CHECKS = {"steps": optional_int(1), "answer_length": optional_int(1), "seed": integer(),
                     "batch_size": integer(1), "prompt_style": one_of(PROMPT_STYLES)}


def ddit_prompt(context: str) -> str:
    """The context in D-DiT's template: the question of lmms-eval's short-answer forms, re-wrapped."""
    for lmms_template, ddit_template in DDIT_TEMPLATES:
        prefix, suffix = lmms_template.split("{question}")
        if context.startswith(prefix) and context.endswith(suffix) and len(context) > len(prefix) + len(suffix):
            return ddit_template.format(question=context[len(prefix):len(context) - len(suffix)].strip())
    return DDIT_FRAME.format(question=context.strip())


def cut_at_stops(text: str, until: str | Sequence[str]) -> str:
    """lmms-eval's stop sequences (one string or a list): keep the text before the first one."""
    for stop in [until] if isinstance(until, str) else until:
        if stop:
            text = text.split(stop, 1)[0]
    return text.strip()


def _checked(settings: dict[str, Any], where: str) -> dict[str, Any]:
    for key, value in settings.items():
        try:
            _MODEL_ARG_CHECKS[key](value)
        except ValueError as exc:
            raise UsageError(f"ddit {where} {key}={value!r}: {exc}") from None
    return settings


class DDiTLmms(lmms):
    """lmms-eval's simple-model interface over ddit-eval's batched D-DiT backend."""

    is_simple = True

    def __init__(self, pretrained: str = DEFAULT_MODEL, steps: Optional[int] = None, answer_length: Optional[int] = None,
                 prompt_style: str = "ddit", seed: int = 0, dtype: str = "auto", device: Optional[str] = None,
                 batch_size: int | str = 8, mask_embedding: Optional[str] = None, max_batch_size: Optional[int] = None,
                 **unknown: Any) -> None:
        super().__init__()
        if unknown:  # a typo in --model_args must not be ignored
            raise UsageError(f"ddit --model_args: unknown argument {sorted(unknown)[0]!r}; known: pretrained, steps, "
                             "answer_length, prompt_style, seed, dtype, device, batch_size, mask_embedding")
        batch_size = int(batch_size) if str(batch_size).isdigit() else batch_size
        _checked({"steps": steps, "answer_length": answer_length, "seed": seed, "batch_size": batch_size,
                  "prompt_style": prompt_style}, "--model_args")
        self.steps, self.answer_length, self.prompt_style, self.seed = steps, answer_length, prompt_style, seed
        self.batch_size = batch_size
        self.accelerator = Accelerator()
        self._rank, self._world_size = self.accelerator.process_index, self.accelerator.num_processes
        self.backend = load_backend_model(str(pretrained), device=self._pick_device(device), dtype=dtype, mask_embedding=mask_embedding)
        self.pretrained = str(pretrained)

    def _pick_device(self, device: Optional[str]) -> str:
        """cuda:LOCAL_RANK when CUDA is there (one model per rank), else what was asked, else cpu."""
        local = f"cuda:{self.accelerator.local_process_index}"
        if device in (None, "auto"):
            return local if resolve_device("auto") == "cuda" else "cpu"
        return local if self._world_size > 1 and str(device).startswith("cuda") else str(device)

    @property
    def device(self):
        import torch

        return getattr(self.backend, "device", torch.device("cpu"))  # a test double has none

    # ------------------------------------------------------------------ requests
    def _to_answer_request(self, instance, repeat: int) -> AnswerRequest:
        context, gen_kwargs, doc_to_visual, doc_id, task, split = instance.args
        gen_kwargs = gen_kwargs or {}
        explicit = _checked({k: gen_kwargs[k] for k in ("steps", "answer_length") if k in gen_kwargs}, "--gen_kwargs")
        length = explicit.get("answer_length", self.answer_length)
        if length is None:
            length = gen_kwargs.get("max_new_tokens")
        steps = explicit.get("steps", self.steps)
        visuals = [v for v in (doc_to_visual(self.task_dict[task][split][doc_id]) or []) if v is not None]
        if len(visuals) != 1:
            raise UsageError(f"ddit answers about exactly one image; task {task!r} doc {doc_id} gives {len(visuals)} visuals")
        image = Image.open(visuals[0]) if isinstance(visuals[0], str) else visuals[0]
        # k-th copy of the same document (lmms-eval --repeats) gets its own seed; the first keeps the plain one
        sample_id = f"{split}/{doc_id}" if repeat == 0 else f"{split}/{doc_id}#{repeat}"
        prompt = ddit_prompt(context) if self.prompt_style == "ddit" else context
        return AnswerRequest(id=sample_id, image=image.convert("RGB"), prompt=prompt,
                             seed=sample_seed(self.seed, task, sample_id), steps=steps,
                             answer_length=None if length is None else int(length))

    def generate_until(self, requests) -> list[str]:
        """Answers in request order, computed batch_size requests per backend call."""
        seen: Counter = Counter()
        prepare = self.backend.prepare  # image resize, as ddit-eval's loader does
        answers: list[str] = []
        progress = tqdm(total=len(requests), disable=self.rank != 0, desc="D-DiT answering")
        for start in range(0, len(requests), self.batch_size):
            chunk = requests[start:start + self.batch_size]
            built = []
            for instance in chunk:
                key = (instance.args[4], instance.args[5], instance.args[3])
                built.append(prepare(self._to_answer_request(instance, seen[key])))
                seen[key] += 1
            outputs = self.backend.answer(built)
            answers += [cut_at_stops(text, (i.args[1] or {}).get("until") or []) for text, i in zip(outputs, chunk)]
            progress.update(len(chunk))
        progress.close()
        return answers

    def loglikelihood(self, requests):
        raise NotImplementedError(
            "ddit: D-DiT decodes text by masked diffusion and has no left-to-right log-likelihood, and ddit-eval "
            "implements no masked-diffusion likelihood estimate; run the task's generate_until version instead "
            "(e.g. egoschema rather than egoschema_mcppl), which D-DiT answers by infilling")

    def generate_until_multi_round(self, requests):
        raise NotImplementedError("ddit: D-DiT answers single-turn questions only; multi-round tasks are not supported")
