"""An independent, line-by-line transcription of the official VQA scorer (GT-Vision-Lab vqaEval.py).

A test helper, not a test: the VQA metric and the `score` command are compared against it.
The tables are transcribed here from the official `VQAEval.__init__` (not read from the
package data under test), so a wrong entry in `ddit_eval/metrics/vqa_tables.json` shows.
`always_normalise=True` is the lmms-eval / D-DiT variant: steps 2-4 run even when the
references all agree.
"""

import re

CONTRACTIONS = {
    "'ow'sat": "'ow's'at", "'ows'at": "'ow's'at", "I'dve": "I'd've", "Id've": "I'd've", "Im": "I'm", "Ive": "I've",
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldn'tve": "couldn't've", "couldnt": "couldn't",
    "couldnt've": "couldn't've", "couldve": "could've", "didnt": "didn't", "doesnt": "doesn't", "dont": "don't",
    "hadn'tve": "hadn't've", "hadnt": "hadn't", "hadnt've": "hadn't've", "hasnt": "hasn't", "havent": "haven't",
    "he'dve": "he'd've", "hed": "he'd", "hed've": "he'd've", "hes": "he's", "howd": "how'd", "howll": "how'll",
    "hows": "how's", "isnt": "isn't", "it'dve": "it'd've", "itd": "it'd", "itd've": "it'd've", "itll": "it'll",
    "let's": "let's", "maam": "ma'am", "mightn'tve": "mightn't've", "mightnt": "mightn't", "mightnt've":
    "mightn't've", "mightve": "might've", "mustnt": "mustn't", "mustve": "must've", "neednt": "needn't", "notve":
    "not've", "oclock": "o'clock", "oughtnt": "oughtn't", "ow's'at": "'ow's'at", "shant": "shan't", "she'dve":
    "she'd've", "she's": "she's", "shed've": "she'd've", "shouldn'tve": "shouldn't've", "shouldnt": "shouldn't",
    "shouldnt've": "shouldn't've", "shouldve": "should've", "somebody'd": "somebodyd", "somebody'dve":
    "somebody'd've", "somebodyd've": "somebody'd've", "somebodyll": "somebody'll", "somebodys": "somebody's",
    "someone'dve": "someone'd've", "someoned": "someone'd", "someoned've": "someone'd've", "someonell":
    "someone'll", "someones": "someone's", "something'dve": "something'd've", "somethingd": "something'd",
    "somethingd've": "something'd've", "somethingll": "something'll", "thats": "that's", "there'dve": "there'd've",
    "thered": "there'd", "thered've": "there'd've", "therere": "there're", "theres": "there's", "they'dve":
    "they'd've", "theyd": "they'd", "theyd've": "they'd've", "theyll": "they'll", "theyre": "they're", "theyve":
    "they've", "twas": "'twas", "wasnt": "wasn't", "we'dve": "we'd've", "wed've": "we'd've", "werent": "weren't",
    "weve": "we've", "whatll": "what'll", "whatre": "what're", "whats": "what's", "whatve": "what've", "whens":
    "when's", "whered": "where'd", "wheres": "where's", "whereve": "where've", "who'dve": "who'd've", "whod":
    "who'd", "whod've": "who'd've", "wholl": "who'll", "whos": "who's", "whove": "who've", "whyll": "why'll",
    "whyre": "why're", "whys": "why's", "wont": "won't", "wouldn'tve": "wouldn't've", "wouldnt": "wouldn't",
    "wouldnt've": "wouldn't've", "wouldve": "would've", "y'all'dve": "y'all'd've", "y'alld've": "y'all'd've",
    "y'allll": "y'all'll", "yall": "y'all", "yall'd've": "y'all'd've", "yall'll": "y'all'll", "you'dve": "you'd've",
    "youd": "you'd", "youd've": "you'd've", "youll": "you'll", "youre": "you're", "youve": "you've"
}
MANUAL_MAP = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven":
    "7", "eight": "8", "nine": "9", "ten": "10"
}
ARTICLES = ["a", "an", "the"]
PUNCT = [";", "/", "[", "]", "\"", "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!"]


class OfficialVQAEval:
    """A line-by-line transcription of the official per-question loop (GT-Vision-Lab vqaEval.py)."""

    def __init__(self, always_normalise=False):
        self.contractions = dict(CONTRACTIONS)
        self.manualMap = dict(MANUAL_MAP)
        self.articles = list(ARTICLES)
        self.periodStrip = re.compile(r"(?!<=\d)(\.)(?!\d)")
        self.commaStrip = re.compile(r"(\d)(\,)(\d)")
        self.punct = list(PUNCT)
        self.always_normalise = always_normalise

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
        if len(set(gtAnswers)) > 1 or self.always_normalise:
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

    def accuracy(self, predictions, gt_answers, answer_types=None):
        """setAccuracy without its rounding: overall and per answer type, x100."""
        accQA = [self.question_accuracy(p, a) for p, a in zip(predictions, gt_answers)]
        out = {"overall": 100.0 * sum(accQA) / len(accQA)}
        for ansType in sorted(set(answer_types or [])):
            accs = [acc for acc, t in zip(accQA, answer_types) if t == ansType]
            out[ansType] = 100.0 * sum(accs) / len(accs)
        return out
