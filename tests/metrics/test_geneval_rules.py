"""GenEval clause rules: thresholds, top-k, include/exclude, colors, the position rule's boundaries."""

import json

import pytest

from ddit_eval.metrics.geneval import (Detection, check_clauses, filter_detections, relative_position, summarize,
                                       write_results_jsonl)


def box(cx, cy, w=10, h=10):
    return Detection("circle", 1.0, (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))


class FixedColors:
    """A color classifier that returns preset colors, in order."""

    def __init__(self, *colors):
        self.colors = list(colors)

    def classify(self, image, detections, class_name):
        return self.colors[: len(detections)]


@pytest.mark.parametrize("dx, dy, expected", [
    (4.0, 0, set()),                 # (4 - 0.1*20) / 4 = 0.5: not > 0.5
    (4.01, 0, {"right of"}),
    (-4.01, 0, {"left of"}),
    (0, -4.01, {"above"}),           # y grows downward
    (0, 4.01, {"below"}),
    (2.0005, 0, set()),              # shrunk offset 0.0005 < 1e-3: no relation at all
    (6.8, 6.8, set()),               # diagonal: (d-2)/(d*sqrt 2) > 0.5 needs d > 6.83
    (6.9, 6.9, {"right of", "below"}),
])
def test_position_rule_boundaries(dx, dy, expected):
    assert relative_position(box(50 + dx, 50 + dy), box(50, 50)) == expected


def test_position_rule_uses_both_boxes_sizes():
    """Wide boxes shrink the offset more: dims 30+10 take 4 px off a 10 px offset -> 0.6 > 0.5."""
    assert relative_position(box(60, 50, w=30), box(50, 50)) == {"right of"}
    assert relative_position(box(60, 50, w=70), box(50, 50)) == set()


def test_thresholds_and_top16():
    dets = [Detection("cat", s, (0, 0, 1, 1)) for s in (0.95, 0.85, 0.3, 0.31)] + \
           [Detection("dog", 0.5, (0, 0, 1, 1))] * 20
    kept = filter_detections(dets, "colors")
    assert [d.score for d in kept["cat"]] == [0.95, 0.85, 0.31] and len(kept["dog"]) == 16
    counting = filter_detections(dets, "counting")
    assert [d.score for d in counting["cat"]] == [0.95] and "dog" not in counting


def test_counting_include_and_exclude():
    meta = {"tag": "counting", "include": [{"class": "circle", "count": 2}], "exclude": [{"class": "circle", "count": 3}]}
    two, three = {"circle": [box(10, 10)] * 2}, {"circle": [box(10, 10)] * 3}
    assert check_clauses(None, two, meta, FixedColors()) == (True, [])
    assert check_clauses(None, three, meta, FixedColors()) == (False, ["expected circle<3, found 3"])
    assert check_clauses(None, {"circle": [box(1, 1)]}, meta, FixedColors())[1] == ["expected circle>=2, found 1"]


def test_color_clause_counts_requested_color():
    meta = {"tag": "colors", "include": [{"class": "circle", "count": 1, "color": "red"}]}
    assert check_clauses(None, {"circle": [box(1, 1)]}, meta, FixedColors("red"))[0]
    ok, reasons = check_clauses(None, {"circle": [box(1, 1)]}, meta, FixedColors("blue"))
    assert not ok and reasons == ["expected red circle>=1, found 0 red; and 1 blue"]


def test_position_needs_a_matched_target():
    meta = {"tag": "position", "include": [{"class": "square", "count": 1},
                                           {"class": "circle", "count": 1, "position": ["right of", 0]}]}
    square = Detection("square", 1.0, (0, 45, 10, 55))
    assert check_clauses(None, {"square": [square], "circle": [box(50, 50)]}, meta, FixedColors())[0]
    ok, reasons = check_clauses(None, {"square": [square], "circle": [box(0, 50)]}, meta, FixedColors())
    assert not ok and reasons == ["expected circle right of target, found left of target"]
    ok, reasons = check_clauses(None, {"circle": [box(50, 50)]}, meta, FixedColors())
    assert reasons == ["expected square>=1, found 0", "no target for circle to be right of"]


def test_summary_is_mean_of_tag_means_and_results_file(tmp_path):
    rows = [{"tag": "colors", "correct": True, "metadata": "m1"}, {"tag": "colors", "correct": False, "metadata": "m1"},
            {"tag": "position", "correct": True, "metadata": "m2"}]
    assert summarize(rows) == pytest.approx({"colors": 0.5, "position": 1.0, "overall": 0.75,
                                             "correct_images": 2 / 3, "correct_prompts": 1.0})
    write_results_jsonl(rows, str(tmp_path / "results.jsonl"))
    assert [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()] == rows


def test_position_needs_more_than_a_thousandth_of_a_pixel():
    """Point-sized boxes: nothing is shrunk, so only the 1e-3 rule decides between no relation and 'right of'."""
    target = box(50, 50, w=0, h=0)
    assert relative_position(box(50.0009, 50, w=0, h=0), target) == set()
    assert relative_position(box(50.0011, 50, w=0, h=0), target) == {"right of"}
    assert relative_position(box(50, 49.9989, w=0, h=0), target) == {"above"}


class CountingColors:
    """Classifies by box: x0 < 100 is red, else blue; records how many detections it was shown."""

    def __init__(self):
        self.shown = []

    def classify(self, image, detections, class_name):
        self.shown.append(len(detections))
        return ["red" if d.box[0] < 100 else "blue" for d in detections]


def test_color_and_position_use_only_the_top_count_detections():
    """Official: colors and positions are judged on the `count` most confident objects of the class."""
    red, blue = Detection("circle", 0.5, (0, 0, 10, 10)), Detection("circle", 0.9, (200, 0, 210, 10))
    meta = {"tag": "colors", "include": [{"class": "circle", "count": 1, "color": "red"}]}
    colors = CountingColors()
    objects = filter_detections([red, blue], "colors")
    assert check_clauses(None, objects, meta, colors) == (False, ["expected red circle>=1, found 0 red; and 1 blue"])
    assert colors.shown == [1]
    meta = {"tag": "position", "include": [{"class": "square", "count": 1},
                                           {"class": "circle", "count": 1, "position": ["left of", 0]}]}
    square = Detection("square", 0.9, (100, 0, 110, 10))
    assert not check_clauses(None, {"square": [square], **objects}, meta, colors)[0]  # top circle is right of it
    assert check_clauses(None, {"square": [square], "circle": [red, blue]}, meta, colors)[0]


def test_position_holds_for_every_pair_of_objects():
    """Two circles right of two squares: one circle between the squares fails the clause."""
    meta = {"tag": "position", "include": [{"class": "square", "count": 2},
                                           {"class": "circle", "count": 2, "position": ["right of", 0]}]}
    squares = [Detection("square", 1.0, (0, 0, 10, 10)), Detection("square", 1.0, (40, 0, 50, 10))]
    right = [Detection("circle", 1.0, (80, 0, 90, 10)), Detection("circle", 1.0, (100, 0, 110, 10))]
    between = [Detection("circle", 1.0, (80, 0, 90, 10)), Detection("circle", 1.0, (20, 0, 30, 10))]
    assert check_clauses(None, {"square": squares, "circle": right}, meta, FixedColors()) == (True, [])
    ok, reasons = check_clauses(None, {"square": squares, "circle": between}, meta, FixedColors())
    assert not ok and reasons == ["expected circle right of target, found left of target"]


class FixedDetector:
    def __init__(self, detections):
        self.detections = detections

    def detect(self, image):
        return list(self.detections)


def test_evaluate_image_row_counting_threshold_and_summary(tmp_path):
    """Counting keeps scores > 0.9 only, so 2 confident + 1 weak circle are exactly two; the row has official fields."""
    from PIL import Image

    from ddit_eval.metrics.geneval import GenEvalScore, evaluate_image

    path = tmp_path / "00000.png"
    Image.new("RGB", (64, 64)).save(path)
    meta = {"tag": "counting", "include": [{"class": "circle", "count": 2}], "exclude": [{"class": "circle", "count": 3}],
            "prompt": "a photo of two circles"}
    dets = [Detection("circle", 0.95, (0, 0, 10, 10)), Detection("circle", 0.91, (20, 0, 30, 10)),
            Detection("circle", 0.9, (40, 0, 50, 10)), Detection("square", 0.99, (0, 40, 10, 50))]
    row = evaluate_image(str(path), meta, FixedDetector(dets), FixedColors())
    assert {**row, "details": json.loads(row["details"])} == {
        "filename": str(path), "tag": "counting", "prompt": "a photo of two circles", "correct": True, "reason": "",
        "metadata": json.dumps(meta), "details": {"circle": [[0.0, 0.0, 10.0, 10.0, 0.95], [20.0, 0.0, 30.0, 10.0, 0.91]],
                                                  "square": [[0.0, 40.0, 10.0, 50.0, 0.99]]}}
    one = {**meta, "tag": "two_object", "prompt": "x"}  # same detections, 0.3 threshold: three circles
    assert evaluate_image(str(path), one, FixedDetector(dets), FixedColors())["reason"] == "expected circle<3, found 3"
    metric = GenEvalScore(FixedDetector(dets), FixedColors())
    metric.update([[str(path)] * 3, [str(path)]], [meta, one])
    assert metric.compute() == pytest.approx({"two_object": 0.0, "counting": 1.0, "overall": 0.5,
                                              "correct_images": 0.75, "correct_prompts": 0.5})
    assert metric.per_sample() == [{"correct_images": 1.0}, {"correct_images": 0.0}]


# ----------------------------------------------------------------- official corner cases (float32, ties, |dims|)


def test_scores_are_compared_in_float32():
    """mmdet's scores are float32: float32(0.3) is not > float32(0.3), nor is anything that rounds to it."""
    import numpy as np

    near = 0.300000005  # > 0.3 in float64, == float32(0.3) in float32
    assert near > 0.3 and np.float32(near) == np.float32(0.3)
    dets = [Detection("cat", s, (0, 0, 1, 1)) for s in (float(np.float32(0.3)), near, 0.3, 0.3000001)]
    assert [d.score for d in filter_detections(dets, "colors")["cat"]] == [0.3000001]
    counting = [Detection("cat", s, (0, 0, 1, 1)) for s in (0.900000001, float(np.float32(0.9)), 0.9000001)]
    assert [d.score for d in filter_detections(counting, "counting")["cat"]] == [0.9000001]


def test_tied_scores_come_out_later_first():
    """Official order = argsort(scores)[::-1], i.e. a stable sort of the reversed list by negated score."""
    a, b, c = (Detection("cat", 0.5, (i, 0, i + 1, 1)) for i in (0, 10, 20))
    top, d = Detection("cat", 0.8, (30, 0, 31, 1)), Detection("dog", 0.5, (40, 0, 41, 1))
    assert filter_detections([a, top, b, d, c], "colors") == {"cat": [top, c, b, a], "dog": [d]}
    # equal in float32 counts as a tie even when the float64 scores differ
    e, f = Detection("cat", 0.5 + 1e-10, (50, 0, 51, 1)), Detection("cat", 0.5, (60, 0, 61, 1))
    assert filter_detections([e, f], "colors")["cat"] == [f, e]


def test_ties_decide_which_object_a_clause_judges():
    """count=1 colour clause on two tied circles: the LATER detection is the one classified."""
    first, later = Detection("circle", 0.7, (0, 0, 10, 10)), Detection("circle", 0.7, (200, 0, 210, 10))
    meta = {"tag": "colors", "include": [{"class": "circle", "count": 1, "color": "red"}]}
    objects = filter_detections([first, later], "colors")
    assert objects["circle"][0] is later
    assert check_clauses(None, objects, meta, CountingColors())[0] is False  # later is blue (x0 >= 100)
    assert check_clauses(None, filter_detections([later, first], "colors"), meta, CountingColors())[0] is True


def test_position_arithmetic_is_float32():
    """Offset 4 + 1e-9 is > 4 in float64 ('right of'), but exactly 4 in float32: (4 - 2) / 4 = 0.5, not > 0.5."""
    assert relative_position(box(54.000000001, 50), box(50, 50)) == set()
    assert relative_position(box(54.0001, 50), box(50, 50)) == {"right of"}


def test_position_uses_absolute_box_sizes():
    """Inverted boxes (x1 < x0): sizes count as |x1 - x0|, so they shrink the offset as upright boxes do."""
    inverted = Detection("circle", 1.0, (59, 45, 49, 55))  # center (54, 50), width |-10|
    assert relative_position(inverted, box(50, 50)) == set()  # like box(54, 50): exactly 0.5
    wide = Detection("circle", 1.0, (95, 50, 25, 50))  # center (60, 50), width 70, height 0
    assert relative_position(wide, box(50, 50)) == relative_position(box(60, 50, w=70, h=0), box(50, 50)) == set()
    upside_down = Detection("circle", 1.0, (45, 61, 55, 51))  # center (50, 56), height |-10|
    assert relative_position(upside_down, box(50, 50)) == {"below"}
