"""`geneval` end to end: generate, score with a tiny random detector and CLIP of the official families, report."""

import json
import sys
from pathlib import Path

import pytest
import torch

from ddit_eval.cli import main
from ddit_eval.results import read_jsonl

pytest.importorskip("cv2")
pytest.importorskip("scipy")
sys.path.insert(0, str(Path(__file__).parent))
from test_colors import tiny_config as tiny_clip_config  # noqa: E402
from test_colors import tiny_tokenizer  # noqa: E402
from test_detector import tiny_model as tiny_detector  # noqa: E402

METADATA = [
    {"tag": "single_object", "include": [{"class": "dog", "count": 1}], "prompt": "a photo of a dog"},
    {"tag": "colors", "include": [{"class": "car", "count": 1, "color": "red"}], "prompt": "a photo of a red car"},
    {"tag": "counting", "include": [{"class": "cup", "count": 2}], "exclude": [{"class": "cup", "count": 3}],
     "prompt": "a photo of two cups"},
]


@pytest.fixture(scope="module")
def scorer_files(tmp_path_factory):
    from transformers import CLIPModel, CLIPProcessor

    from ddit_eval.geneval import colors

    root = tmp_path_factory.mktemp("geneval")
    (root / "metadata.jsonl").write_text("".join(json.dumps(line) + "\n" for line in METADATA))
    tiny_detector().save_pretrained(root / "detector")
    torch.manual_seed(0)
    CLIPModel(tiny_clip_config()).save_pretrained(root / "clip")
    CLIPProcessor(image_processor=colors._image_processor(32), tokenizer=tiny_tokenizer()).save_pretrained(root / "clip")
    return root


def settings(root):
    return ["--set", f"geneval.metadata={root / 'metadata.jsonl'}", "--set", f"geneval.detector_weights={root / 'detector'}",
            "--set", f"geneval.clip_weights={root / 'clip'}", "--set", "geneval.images_per_prompt=2"]


def test_geneval_on_the_tiny_model_writes_scores_layout_and_results(scorer_files, tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--tasks", "geneval", "--output-dir", str(out), *settings(scorer_files)]) == 0
    results = json.loads((out / "results.json").read_text())
    summary = results["tasks"]["geneval"]
    assert summary["n"] == 3 and summary["errors"] == 0
    assert {"single_object", "colors", "counting", "overall", "correct_images", "correct_prompts"} <= set(summary["metrics"])
    assert 0 <= summary["metrics"]["overall"] <= 1
    # the official layout, readable by the official evaluator (and by our reader)
    from ddit_eval.geneval.metadata import read_official_layout

    layout = read_official_layout(out / "geneval")
    assert [m["prompt"] for m, _ in layout] == [m["prompt"] for m in METADATA]
    assert all(len(paths) == 2 for _, paths in layout) and (out / "geneval" / "00000" / "grid.png").is_file()
    rows = read_jsonl(out / "geneval_results.jsonl")
    assert len(rows) == 6 and all({"tag", "prompt", "correct", "reason"} <= set(r) for r in rows)
    config = results["config"]["tasks"]["geneval"]
    assert config["converter_version"] and config["clip_activation"] == "quick_gelu"


def test_missing_detector_weights_is_one_line_before_the_model_loads(scorer_files, tmp_path, capsys):
    code = main(["run", "--tasks", "geneval", "--model", str(tmp_path / "no-model"), "--output-dir", str(tmp_path / "r"),
                 "--set", f"geneval.metadata={scorer_files / 'metadata.jsonl'}"])
    err = capsys.readouterr().err
    assert code == 2 and "detector_weights" in err and err.count("\n") == 1 and "no-model" not in err
