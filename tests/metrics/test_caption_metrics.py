"""pycocoevalcap wrapper: exact-match and empty captions, per-sample means, the Java message.

Java starts slowly, so one scoring run is shared by the module.
"""

import pytest

from ddit_eval.errors import UsageError
from ddit_eval.metrics import captioning
from ddit_eval.metrics.captioning import NAMES, CaptionMetrics

REFS = [
    ["a red circle in the top left", "a red circle", "a circle that is red", "one red circle", "a red round shape"],
    ["a blue square and a green cross", "two shapes: a blue square and a green cross", "a blue square, a green cross",
     "there is a blue square and a green cross", "a green cross and a blue square"],
    ["three shapes", "a yellow triangle, a purple circle and a red square", "three colored shapes",
     "a triangle, a circle and a square", "shapes on gray"],
]
PREDS = ["A red circle.", "", "a picture of a dog"]


@pytest.fixture(scope="module")
def scored():
    metric = CaptionMetrics()
    metric.update(PREDS, REFS)
    return metric.compute(), metric.per_sample()


def test_all_metrics_reported_x100(scored):
    corpus, _ = scored
    assert list(corpus) == list(NAMES)
    assert all(0 <= v <= 100 for k, v in corpus.items() if k != "CIDEr")


def test_exact_match_scores_full_marks(scored):
    """'A red circle.' tokenizes to the second reference: BLEU-1..3 and ROUGE-L are 100."""
    first = scored[1][0]
    assert first["BLEU-1_sentence"] == pytest.approx(100, abs=1e-4)
    assert first["BLEU-3_sentence"] == pytest.approx(100, abs=1e-4)
    assert first["ROUGE-L"] == pytest.approx(100)
    assert first["METEOR_sentence"] > 90 and first["CIDEr"] > 100


def test_empty_caption_scores_zero(scored):
    assert all(v == 0 for v in scored[1][1].values())


def test_per_sample_means_equal_corpus_for_cider_and_rouge(scored):
    corpus, each = scored
    for name in ("CIDEr", "ROUGE-L"):
        assert sum(s[name] for s in each) / len(each) == pytest.approx(corpus[name])


def test_missing_java_is_one_clear_line(monkeypatch):
    monkeypatch.setattr(captioning.shutil, "which", lambda name: None)
    metric = CaptionMetrics()
    metric.update(["a"], [["a"]])
    with pytest.raises(UsageError, match="need Java on PATH") as info:
        metric.compute()
    assert "\n" not in str(info.value)
