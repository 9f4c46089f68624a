"""Tiny runs on the test double that the HTML report tests share, built once per session through the CLI."""

import json
import shutil
from pathlib import Path

import pytest

from ddit_eval.cli import main

UNDERSTANDING = "shapes-vqa,shapes-pope,shapes-caption,shapes-mme"
EDITED = ("shapes-vqa", "shapes-pope", "shapes-mme")


def _edited_candidate(base: Path, out: Path) -> Path:
    """The baseline with known changes, so the compare tests do not hang on what a double happens to answer:
    per task its first right sample made wrong, its first wrong one right, and its last scored one failed."""
    shutil.copytree(base, out)
    for task in EDITED:
        path = out / "samples" / f"{task}.jsonl"
        records = [json.loads(line) for line in path.read_text().splitlines() if line]
        scored = [r for r in records if "error" not in r]
        right = next(r for r in scored if r["scores"]["accuracy"] == 100)
        wrong = next(r for r in scored if r["scores"]["accuracy"] < 100)
        right.update(prediction="zzz", scores={**right["scores"], "accuracy": 0.0})
        wrong.update(prediction="fixed", scores={**wrong["scores"], "accuracy": 100.0})
        failed = scored[-1]
        for key in ("prediction", "scores"):
            failed.pop(key)
        failed.update(error="RuntimeError: planted in the test", traceback="Traceback ...\nRuntimeError: planted")
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return out


def _run(out: Path, *argv) -> Path:
    assert main(["run", *map(str, argv), "--output-dir", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """A run of the understanding tasks and a candidate edited from it, a shapes-geneval run, an ablation run,
    and a 450-question shapes-vqa run (three data pages)."""
    root = tmp_path_factory.mktemp("html-runs")
    base = _run(root / "base", "--tasks", UNDERSTANDING, "--model", "double:pixel?wrong=0.3&fail=0003", "--limit", 12)
    return {
        "base": base, "cand": _edited_candidate(base, root / "cand"),
        "geneval": _run(root / "geneval", "--tasks", "shapes-geneval", "--model", "double:pixel", "--limit", 6),
        "ablation": _run(root / "ablation", "--tasks", "steps-ablation", "--set", "steps-ablation.tasks=shapes-vqa",
                         "--set", "steps-ablation.steps=2,4", "--model", "double:pixel?wrong=0.3", "--limit", 8),
        "long": _run(root / "long", "--tasks", "shapes-vqa", "--set", "shapes-vqa.num_questions=450",
                     "--model", "double:pixel?wrong=0.4&fail=0042", "--batch-size", 64),
    }


@pytest.fixture
def copy_of(runs, tmp_path):
    """A fresh copy of a session run, for a test that writes or edits in it."""
    def copy(name: str) -> Path:
        return Path(shutil.copytree(runs[name], tmp_path / name))
    return copy
