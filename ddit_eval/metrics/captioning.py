"""COCO captioning metrics through pycocoevalcap: BLEU-1..4, METEOR, ROUGE-L, CIDEr(-D).

Same pipeline as the official COCO caption evaluation: the Stanford PTB
tokenizer (Java) lower-cases and splits references and predictions and drops
punctuation, then each scorer runs on the tokenized text.  All numbers are x100
(the paper reports CIDEr 56.2).  CIDEr's document frequencies come from the
evaluated references, so scores on a subset differ from full-set scores; the
caller says so in its notes.  Java is required; without it `compute` raises a
one-line UsageError, and a METEOR failure is raised, never hidden.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Sequence

from ..errors import UsageError
from .base import Metric, check_same_length

NAMES = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr")
# Corpus score == mean of per-sample scores for these, so per-sample keys reuse the name.
_MEAN_OF_SAMPLES = ("ROUGE-L", "CIDEr")


def require_java() -> None:
    if shutil.which("java") is None:
        raise UsageError("captioning metrics need Java on PATH (pycocoevalcap's PTB tokenizer and METEOR are "
                         "Java programs); install a JRE, e.g. `apt-get install default-jre-headless`")


# Characters the Java tokenizer (with -preserveLines) treats as line ends.  pycocoevalcap only
# replaces "\n", then pairs output lines with captions by position: one "\r" in a caption
# would silently shift every later caption onto the wrong image.  They become spaces.
_LINE_BREAKS = re.compile("[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def ptb_tokenize(texts: dict[str, list[str]]) -> dict[str, list[str]]:
    """PTB-tokenize {key: [sentences]}; empty sentences stay empty (the tokenizer would drop their line)."""
    texts = {k: [_LINE_BREAKS.sub(" ", s) for s in v] for k, v in texts.items()}
    nonempty = [s for v in texts.values() for s in v if s.strip()]
    tokenized = iter(_run_ptb_tokenizer(nonempty) if nonempty else [])
    return {key: [next(tokenized) if s.strip() else "" for s in sentences] for key, sentences in texts.items()}


def _ptb_jar() -> Path:
    """The Stanford CoreNLP jar pycocoevalcap ships beside its tokenizer module."""
    import pycocoevalcap.tokenizer.ptbtokenizer as ptb

    return Path(ptb.__file__).resolve().parent / ptb.STANFORD_CORENLP_3_4_1_JAR


def _run_ptb_tokenizer(sentences: list[str]) -> list[str]:
    """pycocoevalcap's PTBTokenizer call, but with its temp file and working folder in a private temp dir.

    Theirs writes beside the jar (site-packages), which fails on a read-only install.
    Output: one lower-cased, space-joined line per sentence, punctuation tokens dropped.
    """
    from pycocoevalcap.tokenizer.ptbtokenizer import PUNCTUATIONS

    folder = tempfile.mkdtemp(prefix="ddit-ptb-")
    try:
        source = Path(folder) / "captions.txt"
        source.write_bytes("\n".join(sentences).encode())
        cmd = ["java", "-cp", str(_ptb_jar()), "edu.stanford.nlp.process.PTBTokenizer", "-preserveLines", "-lowerCase",
               source.name]
        done = subprocess.run(cmd, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if done.returncode != 0:
        err = done.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"PTB tokenizer (Java) failed: {err[-1] if err else f'exit status {done.returncode}'}")
    text = done.stdout.decode()
    lines = (text[:-1] if text.endswith("\n") else text).split("\n")
    if len(lines) != len(sentences):
        raise RuntimeError(f"PTB tokenizer (Java) returned {len(lines)} lines for {len(sentences)} captions")
    return [" ".join(w for w in line.rstrip().split(" ") if w not in PUNCTUATIONS) for line in lines]


def _meteor(gts: dict, res: dict) -> tuple[float, list[float]]:
    """METEOR through its Java server; any failure (no JVM memory, crash) is raised with its stderr."""
    from pycocoevalcap.meteor.meteor import Meteor

    scorer = Meteor()
    try:
        score, scores = scorer.compute_score(gts, res)
    except (ValueError, BrokenPipeError, OSError) as exc:
        scorer.meteor_p.kill()
        if scorer.lock.locked():  # compute_score left it held; Meteor.__del__ would wait on it forever
            scorer.lock.release()
        err = scorer.meteor_p.stderr.read().decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"METEOR (Java) failed: {err[-1] if err else exc}") from exc
    return score, list(scores)


def score_captions(predictions: dict[str, str], references: dict[str, list[str]]) -> tuple[dict, dict]:
    """Corpus scores (x100) and per-key scores (x100) for tokenized-on-the-fly captions."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    require_java()
    gts = ptb_tokenize(references)
    res = ptb_tokenize({k: [v] for k, v in predictions.items()})
    bleu, bleu_each = Bleu(4).compute_score(gts, res, verbose=0)
    meteor, meteor_each = _meteor(gts, res)
    rouge, rouge_each = Rouge().compute_score(gts, res)
    cider, cider_each = Cider().compute_score(gts, res)
    corpus = dict(zip(NAMES, [*bleu, meteor, rouge, cider]))
    each = dict(zip(NAMES, [*bleu_each, meteor_each, list(rouge_each), list(cider_each)]))
    return ({k: 100.0 * float(v) for k, v in corpus.items()},
            {k: [100.0 * float(x) for x in v] for k, v in each.items()})


class CaptionMetrics(Metric):
    """BLEU-1..4, METEOR, ROUGE-L, CIDEr (x100) over (prediction, references) pairs.

    Scoring runs once, at `compute` (CIDEr needs the whole set for its IDF);
    `per_sample` is available after it.
    """


    def __init__(self) -> None:
        super().__init__()
        self.add_state("predictions", [])
        self.add_state("references", [])
        self.add_state("_per_sample", None)

    def update(self, predictions: Sequence[str], references: Sequence[Sequence[str]]) -> None:
        check_same_length(predictions=predictions, references=references)
        for refs in references:
            if not refs:
                raise ValueError("every caption needs at least one reference")
        self.predictions.extend(str(p) for p in predictions)
        self.references.extend(list(r) for r in references)
        self._per_sample = None

    def compute(self) -> dict[str, float]:
        if not self.predictions:
            raise ValueError("CaptionMetrics.compute() called before any update()")
        keys = [str(i) for i in range(len(self.predictions))]
        corpus, each = score_captions(dict(zip(keys, self.predictions)), dict(zip(keys, self.references)))
        self._per_sample = [
            {(k if k in _MEAN_OF_SAMPLES else f"{k}_sentence"): each[k][i] for k in NAMES} for i in range(len(keys))
        ]
        return corpus

    def per_sample(self) -> list[dict[str, float]]:
        if self._per_sample is None:
            self.compute()
        return self._per_sample

    def config(self) -> dict:
        return {"metric": "coco_caption", "tokenizer": "PTBTokenizer (stanford-corenlp 3.4.1)", "scale": "x100",
                "metrics": list(NAMES)}
