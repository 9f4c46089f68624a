"""An independent, line-by-line transcription of the official VQA scorer (GT-Vision-Lab vqaEval.py).

A test helper, not a test: the VQA metric and the `score` command are compared against it.
"""

import json
import re
from pathlib import Path

TABLES = json.loads((Path(__file__).parents[2] / "ddit_eval/metrics/vqa_tables.json").read_text())


class OfficialVQAEval:
    """A line-by-line transcription of the official per-question loop (GT-Vision-Lab vqaEval.py)."""

    def __init__(self):
        self.contractions = TABLES["contractions"]
        self.manualMap = dict(TABLES["number_words"])
        self.articles = TABLES["articles"]
        self.periodStrip = re.compile(r"(?!<=\d)(\.)(?!\d)")
        self.commaStrip = re.compile(r"(\d)(\,)(\d)")
        self.punct = TABLES["punctuation"]

    def processPunctuation(self, inText):
        outText = inText
        for p in self.punct:
            if (p + " " in inText or " " + p in inText) or (re.search(self.commaStrip, inText) is not None):
                outText = outText.replace(p, "")
            else:
                outText = outText.replace(p, " ")
        outText = self.periodStrip.sub("", outText, re.UNICODE)
        return outText

    def processDigitArticle(self, inText):
        outText = []
        tempText = inText.lower().split()
        for word in tempText:
            word = self.manualMap.setdefault(word, word)
            if word not in self.articles:
                outText.append(word)
        for wordId, word in enumerate(outText):
            if word in self.contractions:
                outText[wordId] = self.contractions[word]
        return " ".join(outText)

    def question_accuracy(self, resAns, gt_answers):
        answers = [{"answer": a, "answer_id": i + 1} for i, a in enumerate(gt_answers)]
        for ansDic in answers:
            ansDic["answer"] = ansDic["answer"].replace("\n", " ").replace("\t", " ").strip()
        resAns = resAns.replace("\n", " ").replace("\t", " ").strip()
        gtAcc = []
        gtAnswers = [ans["answer"] for ans in answers]
        if len(set(gtAnswers)) > 1:
            for ansDic in answers:
                ansDic["answer"] = self.processPunctuation(ansDic["answer"])
                ansDic["answer"] = self.processDigitArticle(ansDic["answer"])
            resAns = self.processPunctuation(resAns)
            resAns = self.processDigitArticle(resAns)
        for gtAnsDatum in answers:
            otherGTAns = [item for item in answers if item != gtAnsDatum]
            matchingAns = [item for item in otherGTAns if item["answer"] == resAns]
            acc = min(1, float(len(matchingAns)) / 3)
            gtAcc.append(acc)
        return float(sum(gtAcc)) / len(gtAcc)
