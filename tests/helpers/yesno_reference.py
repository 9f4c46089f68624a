"""Transcriptions of the official yes/no scorers: POPE's evaluate.py (RUCAIBox/POPE) and MME's calculation.py.

Test helpers, not tests: written from the official files, not from `ddit_eval.metrics.yesno`, so the
metrics, the tasks and `compare`'s re-aggregation are checked against them.
"""

MME_PERCEPTION = ("existence", "count", "position", "color", "posters", "celebrity", "scene", "landmark", "artwork", "OCR")


def pope_answer(text):
    """POPE's evaluate.py: the first sentence, commas dropped, split on spaces; a word "No", "not" or "no": no."""
    if text.find(".") != -1:
        text = text.split(".")[0]
    words = text.replace(",", "").split(" ")
    return "no" if "No" in words or "not" in words or "no" in words else "yes"


def mme_answer(text):
    """MME's calculation.py: parse_pred_ans of the lower-cased answer ("other" is wrong either way)."""
    pred_ans = text.lower()
    if pred_ans in ["yes", "no"]:
        return pred_ans
    prefix_pred_ans = pred_ans[:4]
    return "yes" if "yes" in prefix_pred_ans else "no" if "no" in prefix_pred_ans else "other"


def mme_scores(predictions, answers, categories, image_ids):
    """{category: acc + acc+}: acc, % of the questions right; acc+, % of the images with all their questions right."""
    right = {}
    for prediction, answer, category, image in zip(predictions, answers, categories, image_ids):
        right.setdefault(category, {}).setdefault(image, []).append(mme_answer(prediction) == answer.lower())
    scores = {}
    for category, images in right.items():
        questions = [ok for oks in images.values() for ok in oks]
        scores[category] = 100 * sum(questions) / len(questions) + 100 * sum(map(all, images.values())) / len(images)
    return scores
