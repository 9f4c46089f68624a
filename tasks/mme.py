"""mme: MME, 14 categories, two yes/no questions per image; perception score (max 2000) as in the paper.

Per category: acc (questions right), acc+ (images with both questions right),
score = acc + acc+.  Scored with MME's own `calculation.py` rule by default.
"""

from dataclasses import dataclass

from ddit_eval.registry import register_task

from ._answer_rules import MMERules, MMERuleSettings
from ._hub_common import HubAnswerSettings, HubAnswerTask, also_works


@dataclass(frozen=True)
class MMESettings(MMERuleSettings, HubAnswerSettings):
    dataset: str = HubAnswerSettings.with_default("dataset", "lmms-lab/MME")
    split: str = HubAnswerSettings.with_default("split", "test")


@register_task
class MME(MMERules, HubAnswerTask):
    name = "mme"
    description = "MME: perception score (10 categories, max 2000), cognition (4, max 800), acc/acc+/score per category"
    data_source = also_works("MME") + ", split test"
    doc_columns = ("question_id", "question", "answer", "category")
    settings_type = MMESettings

    def sample_id(self, row: dict) -> str:
        return f"{row['question_id']}|{row['question']}"  # question_id names the image, shared by its two questions
