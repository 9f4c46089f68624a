"""vizwiz-test: answers VizWiz-VQA test (8,000 questions) and writes the submission `[{image, answer}]`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ddit_eval.api import Evaluation
from ddit_eval.registry import register_task

from ._hub_common import HubAnswerSettings, SubmissionTask, also_works
from .vizwiz import VIZWIZ_PROTOCOLS

SUBMISSION = "vizwiz-test_submission.json"


@dataclass(frozen=True)
class VizWizTestSettings(HubAnswerSettings):
    dataset: str = HubAnswerSettings.with_default("dataset", "lmms-lab/VizWiz-VQA")
    split: str = HubAnswerSettings.with_default("split", "test")


@register_task
class VizWizTest(SubmissionTask):
    name = "vizwiz-test"
    description = f"VizWiz-VQA test: writes the submission ({SUBMISSION}, one answer per image); no local score"
    data_source = also_works("VizWiz-VQA") + ", split test"
    doc_columns = ("question_id", "question")
    protocols = VIZWIZ_PROTOCOLS
    submission, server = SUBMISSION, "the VizWiz-VQA challenge on EvalAI"
    settings_type = VizWizTestSettings

    def write_outputs(self, records: Sequence[dict], evaluation: Evaluation, out_dir: str) -> list[str]:
        from ddit_eval.submissions import vizwiz_submission, write_submission

        answers = {image_name(r["question_id"]): str(r["prediction"]) for r in records if "prediction" in r}
        path = Path(out_dir) / SUBMISSION
        write_submission(path, vizwiz_submission(answers))
        return [str(path)]


def image_name(question_id: str) -> str:
    """VizWiz question ids are image names; the server wants the file name with its .jpg."""
    return question_id if question_id.endswith(".jpg") else f"{question_id}.jpg"
