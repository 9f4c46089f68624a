"""pycocoevalcap wrapper: exact-match and empty captions, per-sample means, the Java message.

Java starts slowly, so one scoring run is shared by the module.
"""

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


@needs_java
def test_all_metrics_reported_x100(scored):
    corpus, _ = scored
    assert list(corpus) == list(NAMES)
    assert all(0 <= v <= 100 for k, v in corpus.items() if k != "CIDEr")


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
