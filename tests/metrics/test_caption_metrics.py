"""pycocoevalcap wrapper: exact-match and empty captions, per-sample means, the Java message.

Java starts slowly, so one scoring run is shared by the module.
"""

import math
import shutil

import pytest

from ddit_eval.errors import UsageError
from ddit_eval.metrics import captioning
from ddit_eval.metrics.captioning import NAMES, CaptionMetrics, ptb_tokenize

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="pycocoevalcap needs Java")

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


# What the PTB tokenizer makes of REFS and PREDS (lower case, punctuation dropped), written out by hand.
TOKENIZED_REFS = {
    "0": ["a red circle in the top left", "a red circle", "a circle that is red", "one red circle", "a red round shape"],
    "1": ["a blue square and a green cross", "two shapes a blue square and a green cross", "a blue square a green cross",
          "there is a blue square and a green cross", "a green cross and a blue square"],
    "2": ["three shapes", "a yellow triangle a purple circle and a red square", "three colored shapes",
          "a triangle a circle and a square", "shapes on gray"],
}
TOKENIZED_PREDS = {"0": ["a red circle"], "1": [""], "2": ["a picture of a dog"]}

# BLEU worked by hand from pycocoevalcap's bleu_scorer (corpus BLEU, "closest" reference length, x100).
# Clipped n-gram matches of the three predictions over the n-grams they hold:
#   1-grams: 3 + 0 + 2 of 3 + 0 + 5 ("a" twice in "a picture of a dog"; a reference of image 2 holds it 3 times)
#   2-grams: 2 + 0 + 0 of 2 + 0 + 4;  3-grams: 1 + 0 + 0 of 1 + 0 + 3;  4-grams: 0 of 0 + 0 + 2
# Closest reference lengths: 3, 6 (the shortest, nearest to 0 words) and 3 (3 and 7 are both 2 words from 5:
# the shorter) = 12 against 8 words: brevity penalty exp(1 - 12 / 8).  pycocoevalcap adds tiny = 1e-15 to
# each match count and small = 1e-9 to each n-gram count, so the 0 4-gram matches leave BLEU-4 just above 0.
_TINY, _SMALL = 1e-15, 1e-9
_PRECISIONS = [(5 + _TINY) / (8 + _SMALL), (2 + _TINY) / (6 + _SMALL), (1 + _TINY) / (4 + _SMALL), _TINY / (2 + _SMALL)]
_BREVITY = math.exp(1 - 12 / 8)
HAND_BLEU = {f"BLEU-{n}": 100 * math.prod(_PRECISIONS[:n]) ** (1 / n) * _BREVITY for n in (1, 2, 3, 4)}
# ROUGE-L by hand (pycocoevalcap's rouge.py, beta = 1.2): per caption, the best LCS precision P and recall R
# over its references give (1 + beta^2) P R / (R + beta^2 P).  "a red circle" is a reference: 1.  The empty
# caption: 0.  "a picture of a dog": LCS "a a" (2 words), P = 2/5 (vs 10- and 7-word references), R = 2/7.
_P, _R = 2 / 5, 2 / 7
HAND_ROUGE_L = [100.0, 0.0, 100 * (1 + 1.2 ** 2) * _P * _R / (_R + 1.2 ** 2 * _P)]


def official_scores(scorer):
    """A pycocoevalcap scorer (the official COCO caption code) on the hand-tokenized captions, x100."""
    score, each = scorer.compute_score(TOKENIZED_REFS, TOKENIZED_PREDS)
    return 100 * float(score), [100 * float(x) for x in each]


@needs_java
def test_all_metrics_reported_x100(scored):
    from pycocoevalcap.meteor.meteor import Meteor

    corpus, _ = scored
    assert list(corpus) == list(NAMES)
    assert {k: corpus[k] for k in HAND_BLEU} == pytest.approx(HAND_BLEU, rel=1e-9)
    assert HAND_BLEU["BLEU-1"] == pytest.approx(37.908, abs=1e-3)  # 5/8 * exp(-1/2)
    assert corpus["ROUGE-L"] == pytest.approx(sum(HAND_ROUGE_L) / 3, rel=1e-9)
    assert corpus["METEOR"] == pytest.approx(official_scores(Meteor())[0], rel=1e-9)


@needs_java
def test_exact_match_scores_full_marks(scored):
    """'A red circle.' tokenizes to the second reference: BLEU-1..3 and ROUGE-L are 100."""
    first = scored[1][0]
    assert first["BLEU-1_sentence"] == pytest.approx(100, abs=1e-4)
    assert first["BLEU-3_sentence"] == pytest.approx(100, abs=1e-4)
    assert first["ROUGE-L"] == pytest.approx(100)
    assert first["METEOR_sentence"] > 90 and first["CIDEr"] > 100


@needs_java
def test_empty_caption_scores_zero(scored):
    assert all(v == 0 for v in scored[1][1].values())


@needs_java
def test_per_sample_means_equal_corpus_for_cider_and_rouge(scored):
    """ROUGE-L per caption by hand (above); CIDEr(-D) from pycocoevalcap's Cider on the hand-tokenized text.

    By hand too: the empty caption has no n-gram, and the only n-gram of "a picture of a dog" that any
    reference holds is "a", which every image's references hold: its idf log(3/3) is 0, so both score 0.
    """
    from pycocoevalcap.cider.cider import Cider

    corpus, each = scored
    assert [s["ROUGE-L"] for s in each] == pytest.approx(HAND_ROUGE_L, rel=1e-9)
    cider, cider_each = official_scores(Cider())
    assert cider_each[1:] == [0.0, 0.0] and cider_each[0] > 100
    assert [s["CIDEr"] for s in each] == pytest.approx(cider_each, rel=1e-9)
    assert corpus["CIDEr"] == pytest.approx(cider, rel=1e-9) and cider == pytest.approx(cider_each[0] / 3, rel=1e-9)
    for name in ("CIDEr", "ROUGE-L"):
        assert sum(s[name] for s in each) / len(each) == pytest.approx(corpus[name])


def test_missing_java_is_one_clear_line(monkeypatch):
    monkeypatch.setattr(captioning.shutil, "which", lambda name: None)
    metric = CaptionMetrics()
    metric.update(["a"], [["a"]])
    with pytest.raises(UsageError, match="need Java on PATH") as info:
        metric.compute()
    assert "\n" not in str(info.value)


@needs_java
def test_line_breaks_inside_a_caption_do_not_shift_later_captions():
    """Java splits lines at \\r, \\u2028, \\x0b ...; pycocoevalcap pairs lines by position, so they must go."""
    out = ptb_tokenize({"a": ["A red\rcircle.", "x\u2028y"], "b": ["p\x0bq", ""], "c": ["r\x0cs\u2029t", "The end."]})
    assert out == {"a": ["a red circle", "x y"], "b": ["p q", ""], "c": ["r s t", "the end"]}


def test_meteor_failure_is_raised_and_releases_the_scorer(monkeypatch):
    """A crash inside Meteor.compute_score leaves its lock held; Meteor.__del__ would then hang the process."""
    from pycocoevalcap.meteor import meteor

    seen = []

    class FakeProcess:
        class stderr:
            @staticmethod
            def read():
                return b"Exception in thread main\njava.lang.OutOfMemoryError: Java heap space\n"

        class stdin:
            @staticmethod
            def close():
                pass

        def kill(self):
            pass

        def wait(self):
            pass

    def init(self):
        self.meteor_p, self.lock = FakeProcess(), meteor.threading.Lock()

    def crash(self, gts, res):
        seen.append(self)
        self.lock.acquire()
        raise ValueError("could not convert string to float: ''")

    monkeypatch.setattr(meteor.Meteor, "__init__", init)
    monkeypatch.setattr(meteor.Meteor, "compute_score", crash)
    monkeypatch.setattr(meteor.Meteor, "__del__", lambda self: None)
    with pytest.raises(RuntimeError, match="METEOR \\(Java\\) failed: java.lang.OutOfMemoryError"):
        captioning._meteor({"0": ["a"]}, {"0": ["a"]})
    held = seen[0].lock.locked()
    if held:  # release it here, or this test itself would hang at garbage collection instead of failing
        seen[0].lock.release()
    assert not held


TRICKY = ["A man's hat, (red)!", "Don't go -- it's the U.S.A. e-mail...", '"Hi," she said; {braces} [brackets]',
          "café naïve — 3.5 ¼ `quoted'", "...", "A\tTAB  double  space", "x\x00y", "?!", "can't won't it's 1,000"]


@needs_java
def test_our_tokenizer_call_matches_pycocoevalcaps_output():
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    theirs = PTBTokenizer().tokenize({str(i): [{"caption": c}] for i, c in enumerate(TRICKY)})
    ours = ptb_tokenize({str(i): [c] for i, c in enumerate(TRICKY)})
    assert ours == theirs
    assert ours["0"] == ["a man 's hat -lrb- red -rrb-"] and ours["4"] == [""]  # punctuation dropped as theirs does


@needs_java
def test_tokenizing_writes_nothing_into_the_installed_package(monkeypatch):
    """pycocoevalcap writes its temp file beside the jar and runs java there: a read-only install breaks."""
    import subprocess

    jar_folder = captioning._ptb_jar().parent
    before = sorted(p.name for p in jar_folder.iterdir())
    real_run, seen = subprocess.run, []

    def spy(cmd, **kwargs):
        seen.append((list(cmd), kwargs.get("cwd")))
        return real_run(cmd, **kwargs)

    monkeypatch.setattr(captioning.subprocess, "run", spy)
    assert ptb_tokenize({"a": ["A red circle."]}) == {"a": ["a red circle"]}
    (cmd, cwd), = seen
    assert cmd[:3] == ["java", "-cp", str(captioning._ptb_jar())]
    assert cmd[3:6] == ["edu.stanford.nlp.process.PTBTokenizer", "-preserveLines", "-lowerCase"]
    assert not str(cwd).startswith(str(jar_folder)) and not (captioning.Path(cwd)).exists()  # a temp dir, removed
    assert sorted(p.name for p in jar_folder.iterdir()) == before
