"""vizwiz-test: answers VizWiz-VQA test (8,000 questions) and writes the submission `[{image, answer}]`."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ddit_eval.api import Evaluation
from ddit_eval.registry import register_task

from ._hub_common import HubAnswerTask, SubmissionTask, also_works, data_settings
from .vizwiz import VIZWIZ_PROTOCOLS

SUBMISSION = "vizwiz-test_submission.json"


@register_task
class VizWizTest(SubmissionTask):
    name = "vizwiz-test"
    description = f"VizWiz-VQA test: writes the submission ({SUBMISSION}, one answer per image); no local score"
    data_source = also_works("VizWiz-VQA") + ", split test"
    doc_columns = ("question_id", "question")
    protocols = VIZWIZ_PROTOCOLS
    submission, server = SUBMISSION, "the VizWiz-VQA challenge on EvalAI"
    default_settings = {**data_settings("lmms-lab/VizWiz-VQA", "test"), **HubAnswerTask.answer_settings}

    def write_outputs(self, records: Sequence[dict], evaluation: Evaluation, out_dir: str) -> list[str]:
        from ddit_eval.submissions import vizwiz_submission, write_submission

        answers = {image_name(r["question_id"]): str(r["prediction"]) for r in records if "prediction" in r}
        path = Path(out_dir) / SUBMISSION
        write_submission(path, vizwiz_submission(answers))
        return [str(path)]


def image_name(question_id: str) -> str:
    """VizWiz question ids are image names; the server wants the file name with its .jpg."""
    return question_id if question_id.endswith(".jpg") else f"{question_id}.jpg"
