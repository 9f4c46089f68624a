"""GenEval's report: captions from the official reasons, per-tag grids, and the paper's rows beside a full score."""

import json

import pytest
from PIL import Image

from ddit_eval.geneval import figures
from ddit_eval.geneval.paper import paper_rows, paper_section
from ddit_eval.metrics.geneval import Detection, check_clauses, filter_detections
from ddit_eval.reports import run_report

IMAGE = Image.new("RGB", (100, 100))


class Named:
    """A colour classifier that names every object one colour."""

    def __init__(self, color):
        self.color = color

    def classify(self, image, detections, class_name):
        return [self.color] * len(detections)


def row(metadata, detections, color="red"):
    """One results.jsonl row as the official rules write it, for hand-built detections."""
    correct, reasons = check_clauses(IMAGE, filter_detections(detections, metadata["tag"]), metadata, Named(color))
    return {"correct": correct, "reason": "\n".join(reasons), "metadata": json.dumps(metadata), "tag": metadata["tag"],
            "prompt": metadata["prompt"], "filename": "missing.png"}


def box(x0, y0=10, size=20):
    return (x0, y0, x0 + size, y0 + size)


DOG_RIGHT_OF_CAT = {"tag": "position", "prompt": "a photo of a dog right of a cat",
                    "include": [{"class": "cat", "count": 1}, {"class": "dog", "count": 1, "position": ["right of", 0]}]}


@pytest.mark.parametrize("metadata, detections, color, official, caption", [
    ({"tag": "counting", "prompt": "a photo of three dogs", "include": [{"class": "dog", "count": 3}],
      "exclude": [{"class": "dog", "count": 4}]}, [Detection("dog", 0.95, box(0)), Detection("dog", 0.95, box(50))], "red",
     "expected dog>=3, found 2", "expected 3 dog, found 2"),
    ({"tag": "counting", "prompt": "a photo of two cups", "include": [{"class": "cup", "count": 2}],
      "exclude": [{"class": "cup", "count": 3}]}, [Detection("cup", 0.95, box(10 * k)) for k in range(3)], "red",
     "expected cup<3, found 3", "expected fewer than 3 cup, found 3"),
    ({"tag": "colors", "prompt": "a photo of a red car", "include": [{"class": "car", "count": 1, "color": "red"}]},
     [Detection("car", 0.9, box(0))], "blue",
     "expected red car>=1, found 0 red; and 1 blue", "wrong colour: expected 1 red car, saw 1 blue"),
    (DOG_RIGHT_OF_CAT, [Detection("cat", 0.9, box(60)), Detection("dog", 0.9, box(0))], "red",
     "expected dog right of target, found left of target", "position: dog not right of cat (left of it)"),
    (DOG_RIGHT_OF_CAT, [Detection("cat", 0.9, box(0)), Detection("dog", 0.9, box(0))], "red",
     "expected dog right of target, found  target", "position: dog not right of cat (too close to tell)"),
    (DOG_RIGHT_OF_CAT, [Detection("dog", 0.9, box(0))], "red",
     "expected cat>=1, found 0\nno target for dog to be right of",
     "expected 1 cat, found 0\nposition: no cat for dog to be right of"),
])
def test_captions_word_the_official_reasons(metadata, detections, color, official, caption):
    failed = row(metadata, detections, color)
    assert not failed["correct"] and failed["reason"] == official  # the official evaluator's own strings
    assert figures.readable_reason(failed) == caption
    text, colour = figures.caption(failed)
    assert text.startswith("FAIL\n") and colour == figures.FAIL_COLOUR


def test_a_correct_image_is_captioned_pass():
    passed = row(DOG_RIGHT_OF_CAT, [Detection("cat", 0.9, box(0)), Detection("dog", 0.9, box(60))])
    assert passed["correct"] and figures.caption(passed) == ("PASS", figures.PASS_COLOUR)


def test_one_grid_per_tag_of_its_first_prompts(tmp_path):
    rows = []
    for p in range(6):
        tag = "colors" if p % 2 else "single_object"
        meta = {"tag": tag, "prompt": f"prompt {p}", "include": [{"class": "dog", "count": 1}]}
        for k in range(3):
            path = tmp_path / f"{p}_{k}.png"
            Image.new("RGB", (40, 30), (20 * p, 10 * k, 90)).save(path)
            rows.append({"filename": str(path), "tag": tag, "prompt": meta["prompt"], "correct": k == 0,
                         "reason": "" if k == 0 else "expected dog>=1, found 0", "metadata": json.dumps(meta)})
    rows[-1]["filename"] = str(tmp_path / "gone.png")  # a moved image still gets its caption
    by_tag = figures.prompts_by_tag(rows)
    assert list(by_tag) == ["single_object", "colors"] and [len(p) for p in by_tag.values()] == [3, 3]
    paths = figures.tag_grids(rows, tmp_path / "out", prompts_per_tag=2)
    assert paths == [str(tmp_path / "out" / f"geneval-grid-{tag}.png") for tag in ("single_object", "colors")]
    with Image.open(paths[0]) as grid:
        assert grid.width > 3 * 80 and grid.height > 2 * 80  # 3 images across, 2 prompts down, at 80 dpi


# The paper's GenEval table as printed (text-to-image results), the rows this project compares with.
SLIDE_ROWS = {
    "SD3 (paper)": "SD3 [20]	2	0.62	0.98	0.74	0.63	0.67	0.34	0.36",
    "D-DiT (paper)": "D-DiT (ours)	2	0.65	0.97	0.80	0.54	0.76	0.32	0.50",
}
COLUMNS = ("overall", "single_object", "two_object", "counting", "colors", "position", "color_attr")


def test_paper_rows_are_the_slides_numbers():
    rows = paper_rows()
    for label, line in SLIDE_ROWS.items():
        assert rows[label] == dict(zip(COLUMNS, map(float, line.split("\t")[2:])))
        tags = [rows[label][c] for c in COLUMNS[1:]]
        assert abs(rows[label]["overall"] - sum(tags) / 6) < 0.005  # overall is the mean of the six tags


def results(n=553, limit=None, per_prompt=4, prompt_set="official", errors=0):
    metrics = {"single_object": 0.9, "two_object": 0.7, "counting": 0.5, "colors": 0.7, "position": 0.25,
               "color_attr": 0.4, "overall": 0.575, "correct_images": 0.6, "correct_prompts": 0.8}
    return {"tasks": {"geneval": {"metrics": metrics, "primary": "overall", "n": n, "errors": errors, "notes": []}},
            "config": {"model": "m", "limit": limit,
                       "tasks": {"geneval": {"prompt_set": prompt_set, "images": {"images_per_prompt": per_prompt}}}},
            "versions": {}}


def test_report_shows_the_paper_rows_beside_a_full_protocol_score():
    report = run_report(results(), {})
    table = report[report.index("## GenEval beside the paper"):].splitlines()
    assert table[2] == "| row | overall | single_object | two_object | counting | colors | position | color_attr |"
    assert table[4] == "| measured | 0.575 | 0.900 | 0.700 | 0.500 | 0.700 | 0.250 | 0.400 |"
    assert table[5] == "| D-DiT (paper) | 0.65 | 0.97 | 0.80 | 0.54 | 0.76 | 0.32 | 0.50 |"
    assert table[6] == "| SD3 (paper) | 0.62 | 0.98 | 0.74 | 0.63 | 0.67 | 0.34 | 0.36 |"


@pytest.mark.parametrize("kwargs, why", [
    ({"limit": 20, "n": 20}, "--limit 20; 20 of 553 prompts scored"),
    ({"per_prompt": 1}, "1 images per prompt, not 4"),
    ({"per_prompt": [3, 4]}, "[3, 4] images per prompt, not 4"),
    ({"prompt_set": "custom"}, "not the official prompt file"),
    ({"n": 550, "errors": 3}, "550 of 553 prompts scored; 3 prompts failed"),
])
def test_paper_rows_are_not_shown_for_a_partial_score(kwargs, why):
    r = results(**kwargs)
    section = "\n".join(paper_section(r["tasks"]["geneval"], r["config"], r["config"]["tasks"]["geneval"]))
    assert "D-DiT (paper)" not in section and section.endswith(f"not shown here: {why}.")
    assert "D-DiT (paper)" not in run_report(r, {})


def test_tasks_without_report_sections_add_nothing():
    plain = {"tasks": {"shapes-vqa": {"metrics": {"accuracy": 0.5}, "primary": "accuracy", "n": 3, "errors": 0}},
             "config": {}, "versions": {}}
    report = run_report(plain, {})
    # the headline table and the task's own metrics table, and no section the task would add
    assert [line for line in report.splitlines() if line.startswith("#")] == ["# ddit-eval run: ?", "## Metrics by task",
                                                                             "### shapes-vqa"]
