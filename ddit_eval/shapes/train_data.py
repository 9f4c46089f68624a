"""The training data of the tiny D-DiT trainer (`train_tiny`): shapes-world train scenes as tensors.

Scenes come from the train split only: the shapes world's own scenes plus scenes drawn for
GenEval-style prompts.  From them: pixels for the VAE, posterior latents for the transformer,
tokenized text-to-image prompts, and tokenized caption / question-answer examples whose prompt
tokens are not targets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ddit_eval.model.codec import DDiTCodec
from ddit_eval.prompts import DDIT_VQA
from ddit_eval.shapes import (captions, describe, existence_question, generate_scenes, geneval_metadata,
                              has_left_right_pair, mme_questions, render, scene_for_metadata, split_of, vqa_items)
from ddit_eval.shapes.language import OBJECTS, YES_NO_SUFFIX

RENDER_SIZE = 64  # the shapes suite renders at 64 px; the backend resizes to the model's resolution


def _t2i_prompts(scenes) -> tuple[list[int], list[str]]:
    """(scene index, prompt) pairs: descriptions, captions and GenEval-style prompts of train scenes."""
    pairs = []
    for i, scene in enumerate(scenes):
        pairs.append((i, describe(scene)))
        pairs += [(i, c) for c in captions(scene)[1:3]]
    return [i for i, _ in pairs], [p for _, p in pairs]


def _geneval_scenes(seed: int, copies: int):
    """Scenes drawn for every GenEval-style prompt of the shapes world, train split only."""
    rng = np.random.default_rng(seed + 7)
    out = []
    for meta in geneval_metadata(seed, per_tag=10**6):
        found = 0
        for _ in range(50 * copies):
            scene = scene_for_metadata(meta, rng)
            if split_of(scene) == "train":
                out.append((scene, meta["prompt"]))
                found += 1
                if found == copies:
                    break
    return out


def _text_examples(scenes, seed: int) -> list[tuple[int, str | None, str]]:
    """(scene index, prompt or None, target) for captions, VQA, POPE-style and MME-style questions."""
    rng = np.random.default_rng(seed + 11)
    examples = []
    for i, scene in enumerate(scenes):
        examples += [(i, None, c) for c in captions(scene)]
        examples += [(i, DDIT_VQA.format(question=item.question), item.canonical) for item in vqa_items(scene, rng)]
        present = {s.name for s in scene.shapes}
        absent = [o for o in OBJECTS if o not in present]
        for name in list(present) + [str(o) for o in rng.choice(absent, size=len(present), replace=False)]:
            examples.append((i, DDIT_VQA.format(question=existence_question(name)), "yes" if name in present else "no"))
        for category in ("existence", "count", "position", "color"):
            if category == "position" and not has_left_right_pair(scene):
                continue
            for question, answer in mme_questions(scene, category, rng):
                examples.append((i, DDIT_VQA.format(question=question.replace(YES_NO_SUFFIX, "")), answer))
    return examples


def _encode_examples(codec: DDiTCodec, examples, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids (prompt without `</s>` + target + `</s>`, eos-padded) and label masks (0 on the prompt)."""
    eos = codec.tokenizer.eos_token_id
    ids, labels = [], []
    for _, prompt, target in examples:
        head = codec.tokenize([prompt], length, pad=False, eos=False)[0] if prompt else []
        tail = codec.tokenize([target], length, pad=False, eos=True)[0]
        row = (head + tail)[:length]
        ids.append(row + [eos] * (length - len(row)))
        labels.append([0] * min(len(head), length) + [1] * (length - min(len(head), length)))
    return torch.tensor(ids), torch.tensor(labels, dtype=torch.bool)


def draw_scenes(seed: int, n: int, geneval_copies: int) -> tuple[list, list]:
    """`n` train-split scenes, and (scene, prompt) pairs for GenEval-style prompts (none if `geneval_copies` is 0)."""
    scenes = generate_scenes(seed, n, "train")
    extra = _geneval_scenes(seed, copies=geneval_copies) if geneval_copies else []
    return scenes, extra


def scene_pixels(codec: DDiTCodec, scenes, resolution: int) -> torch.Tensor:
    """The scenes rendered and preprocessed as the VAE reads them, at `resolution` px."""
    return codec.preprocess([render(s, RENDER_SIZE) for s in scenes], resolution)


@dataclass(frozen=True)
class Latents:
    """Every scene's posterior mean and std, and the shift and scale that give unit-variance latents."""

    mean: torch.Tensor
    std: torch.Tensor
    shift: float
    scale: float

    def sample(self, rows: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Scaled posterior samples of the given scenes."""
        z = self.mean[rows] + self.std[rows] * torch.randn(self.mean[rows].shape, generator=gen)
        return (z - self.shift) * self.scale


def fit_latents(vae, pixels: torch.Tensor) -> Latents:
    """Encode every scene with the frozen VAE and set its shift and scaling factors from the latents."""
    with torch.no_grad():
        dists = [vae.encode(pixels[i:i + 256]).latent_dist for i in range(0, len(pixels), 256)]
    mean, std = torch.cat([d.mean for d in dists]), torch.cat([d.std for d in dists])
    shift, scale = mean.mean().item(), 1.0 / mean.std().item()
    vae.register_to_config(shift_factor=shift, scaling_factor=scale)
    return Latents(mean, std, shift, scale)


@dataclass(frozen=True)
class TextData:
    """Token tensors of the two objectives, each row with the index of the scene it is about."""

    prompt_ids: torch.Tensor  # text-to-image prompts
    prompt_scene: torch.Tensor
    null_ids: torch.Tensor  # the null prompt " " (classifier-free guidance dropout)
    text_ids: torch.Tensor  # captions and question/answer examples
    text_labels: torch.Tensor  # False on prompt tokens (held fixed), True on targets
    text_scene: torch.Tensor


def text_data(codec: DDiTCodec, scenes, extra, seed: int, t2i_length: int, text_length: int) -> TextData:
    """Tokenize the prompts of `scenes` and of the GenEval-style `extra` pairs (their scenes follow `scenes`),
    and the caption / question-answer examples of `scenes`."""
    scene_idx, prompts = _t2i_prompts(scenes)
    scene_idx += [len(scenes) + k for k in range(len(extra))]
    prompts += [p for _, p in extra]
    # This order of tokenize calls is kept: the saved tokenizer.json records the last call's truncation length.
    prompt_ids = torch.tensor(codec.tokenize(prompts, t2i_length))
    null_ids = torch.tensor(codec.tokenize([" "], t2i_length))
    examples = _text_examples(scenes, seed)
    text_ids, text_labels = _encode_examples(codec, examples, text_length)
    return TextData(prompt_ids=prompt_ids, prompt_scene=torch.tensor(scene_idx), null_ids=null_ids, text_ids=text_ids,
                    text_labels=text_labels, text_scene=torch.tensor([i for i, _, _ in examples]))
