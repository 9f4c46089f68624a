"""vqav2-testdev: answers VQAv2 test-dev (107,394 questions) and writes the EvalAI submission file.

The server wants every test2015 question id (447,793): test-dev ids carry our
answers, the rest are padded.  Nothing is scored here; the run reports how many
answers were empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ddit_eval.api import Evaluation
from ddit_eval.registry import register_task
from ddit_eval.settings import setting

from ._hub_common import HubAnswerSettings, SubmissionTask, also_works

SUBMISSION = "vqav2-testdev_submission.json"


@dataclass(frozen=True)
class VQAv2TestDevSettings(HubAnswerSettings):
    dataset: str = HubAnswerSettings.with_default("dataset", "lmms-lab/VQAv2")
    split: str = HubAnswerSettings.with_default("split", "testdev")
    all_ids_split: str = setting("test", "the split whose question ids the submission must cover (padded)")


@register_task
class VQAv2TestDev(SubmissionTask):
    name = "vqav2-testdev"
    description = f"VQAv2 test-dev: writes the EvalAI submission ({SUBMISSION}, every test2015 id); no local score"
    data_source = also_works("VQAv2") + ", split testdev (ids padded from split test)"
    doc_columns = ("question_id", "image_id", "question")
    submission, server = SUBMISSION, "EvalAI (VQA Challenge, test-dev phase)"
    settings_type = VQAv2TestDevSettings

    def write_outputs(self, records: Sequence[dict], evaluation: Evaluation, out_dir: str) -> list[str]:
        from ddit_eval.data import DataRef, open_table
        from ddit_eval.submissions import vqav2_submission, write_submission

        s = self.settings
        every_id = open_table(DataRef(s.dataset, s.all_ids_split, s.config, s.revision)).column("question_id")
        answers = {int(r["question_id"]): str(r["prediction"]) for r in records if "prediction" in r}
        path = Path(out_dir) / SUBMISSION
        write_submission(path, vqav2_submission(answers, every_id))
        return [str(path)]
