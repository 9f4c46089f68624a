"""`score --task geneval --images-dir`: images any model made in the official layout, scored as a run scores them."""

import json
import shutil

import pytest
from geneval_helpers import IMAGES_PER_PROMPT, METADATA
from PIL import Image

from ddit_eval.cli import main
from ddit_eval.geneval.metadata import write_official_layout
from ddit_eval.results import read_jsonl

RESULTS = "geneval_results.jsonl"


def test_scoring_the_runs_images_folder_gives_the_runs_numbers(tiny_run, geneval_settings, tmp_path):
    folder, out = tiny_run / "geneval", tmp_path / "scored"
    assert main(["score", "--task", "geneval", "--images-dir", str(folder), "--output-dir", str(out), *geneval_settings]) == 0
    run, scored = (json.loads((d / "results.json").read_text()) for d in (tiny_run, out))
    assert scored["tasks"]["geneval"]["metrics"] == run["tasks"]["geneval"]["metrics"]
    assert scored["tasks"]["geneval"]["n"] == len(METADATA)
    # the official per-image results: same verdicts, reasons and detections, for the folder's images in order
    verdict = lambda row: (row["tag"], row["prompt"], row["correct"], row["reason"], row["details"])  # noqa: E731
    rows = read_jsonl(out / RESULTS)
    assert [verdict(r) for r in rows] == [verdict(r) for r in read_jsonl(tiny_run / RESULTS)]
    assert [r["filename"] for r in rows] == [str((folder / f"{i:05d}" / "samples" / f"{k:04d}.png").resolve())
                                             for i in range(len(METADATA)) for k in range(IMAGES_PER_PROMPT)]
    # records shaped like the runner's (which adds the sample seed), with the same per-prompt scores
    records, run_records = read_jsonl(out / "samples" / "geneval.jsonl"), read_jsonl(tiny_run / "samples" / "geneval.jsonl")
    assert set(records[0]) == set(run_records[0]) - {"seed"}
    assert [(r["id"], r["metadata"], r["scores"]) for r in records] == [(r["id"], r["metadata"], r["scores"]) for r in run_records]
    assert scored["config"]["tasks"]["geneval"]["images"] == {
        "source": "images folder", "images_dir": str(folder.resolve()), "prompts": len(METADATA),
        "images": len(METADATA) * IMAGES_PER_PROMPT, "images_per_prompt": IMAGES_PER_PROMPT,
        "seeding": "not known (images made elsewhere)"}
    # the images are not copied again; grids and report as for a run
    assert not (out / "geneval").exists() and scored["outputs"]["geneval"] == [RESULTS]
    assert scored["plots"]["geneval"] == run["plots"]["geneval"] and all((out / p).is_file() for p in scored["plots"]["geneval"])
    report = (out / "report.md").read_text()
    assert f"# ddit-eval score: {folder.resolve()}" in report and "not shown here: 2 of 553 prompts scored" in report


def _folder(root, lines=METADATA, size=16):
    for i, line in enumerate(lines):
        write_official_layout(root, i, line, [Image.new("RGB", (size, size), (200, 30, 30))] * 2)
    return root


def _rename_prompt(root):
    line = json.loads((root / "00001" / "metadata.jsonl").read_text())
    (root / "00001" / "metadata.jsonl").write_text(json.dumps({**line, "prompt": "a photo of a blue dog"}))


def _other_clauses(root):
    line = json.loads((root / "00001" / "metadata.jsonl").read_text())
    (root / "00001" / "metadata.jsonl").write_text(json.dumps({**line, "include": [{"class": "dog", "count": 2}]}))


BAD_FOLDERS = {
    "missing": (lambda root: None, "GenEval images folder not found"),
    "no prompt folders": (lambda root: root.mkdir(), "has no prompt folders"),
    "no metadata": (lambda root: (_folder(root) / "00001" / "metadata.jsonl").unlink(), "00001 has no metadata.jsonl"),
    "no images": (lambda root: shutil.rmtree(_folder(root) / "00000" / "samples"), "00000 has no samples/<digits>.png"),
    "other prompt": (lambda root: _rename_prompt(_folder(root)),
                     "does not match prompt 1 of the GenEval metadata (prompt 'a photo of a blue dog', expected "
                     "'a photo of a red dog'); score with the metadata the images were made from"),
    "other clauses": (lambda root: _other_clauses(_folder(root)), "prompt 'a photo of a red dog' has other include"),
    "beyond the metadata": (lambda root: (_folder(root) / "00001").rename(root / "00007"),
                            "00007 is prompt 7, but the GenEval metadata has 2 prompts"),
    "two folders for a prompt": (lambda root: shutil.copytree(_folder(root) / "00001", root / "1"),
                                 "two folders for prompt 1"),
    "corrupt image": (lambda root: (_folder(root) / "00001" / "samples" / "0001.png").write_bytes(b"\x89PNG truncated"),
                      "0001.png is not a readable image"),
}


@pytest.mark.parametrize("case", BAD_FOLDERS)
def test_a_bad_images_folder_is_one_line_before_any_scoring(case, geneval_settings, tmp_path, capsys, monkeypatch):
    from ddit_eval.tasks.geneval import GenEval

    monkeypatch.setattr(GenEval, "scorers", lambda self: pytest.fail("scorers loaded for a bad folder"))
    make, message = BAD_FOLDERS[case]
    make(tmp_path / "images")
    code = main(["score", "--task", "geneval", "--images-dir", str(tmp_path / "images"),
                 "--output-dir", str(tmp_path / "out"), *geneval_settings])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err
    assert not (tmp_path / "out" / "results.json").exists()


@pytest.mark.parametrize("argv, message", [
    (["--task", "geneval"], "one of the arguments --predictions --images-dir is required"),
    (["--task", "geneval", "--predictions", "p.jsonl", "--images-dir", "d"], "not allowed with argument"),
    (["--task", "shapes-geneval", "--images-dir", "d"], "task shapes-geneval has no image-folder scoring"),
])
def test_score_takes_predictions_or_an_images_folder(argv, message, capsys):
    code = main(["score", *argv])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err
