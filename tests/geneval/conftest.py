"""Shared GenEval fixtures: tiny scorer files and one tiny-model run that the end-to-end tests share."""

import json

import pytest
import torch
from geneval_helpers import IMAGES_PER_PROMPT, METADATA, confident_detector

from helpers.tiny_clip import tiny_clip_config, tiny_clip_tokenizer


@pytest.fixture(scope="session")
def scorer_files(tmp_path_factory):
    from transformers import CLIPModel, CLIPProcessor

    from ddit_eval.geneval import colors

    root = tmp_path_factory.mktemp("geneval")
    (root / "metadata.jsonl").write_text("".join(json.dumps(line) + "\n" for line in METADATA))
    confident_detector().save_pretrained(root / "detector")
    torch.manual_seed(0)
    CLIPModel(tiny_clip_config()).save_pretrained(root / "clip")
    CLIPProcessor(image_processor=colors._image_processor(32), tokenizer=tiny_clip_tokenizer()).save_pretrained(root / "clip")
    return root


@pytest.fixture(scope="session")
def geneval_settings(scorer_files):
    return ["--set", f"geneval.metadata={scorer_files / 'metadata.jsonl'}",
            "--set", f"geneval.detector_weights={scorer_files / 'detector'}",
            "--set", f"geneval.clip_weights={scorer_files / 'clip'}"]


@pytest.fixture(scope="session")
def tiny_run(geneval_settings, tmp_path_factory):
    """A geneval run of the embedded tiny model: generated (in 2 steps: the pictures do not matter), scored, reported."""
    from ddit_eval.cli import main

    out = tmp_path_factory.mktemp("runs") / "run"
    code = main(["run", "--tasks", "geneval", "--output-dir", str(out), *geneval_settings,
                 "--set", f"geneval.images_per_prompt={IMAGES_PER_PROMPT}", "--set", "geneval.steps=2"])
    assert code == 0
    return out
