"""pope: POPE object hallucination, 3 splits (adversarial, popular, random), 9,000 yes/no questions.

Scored with POPE's own `evaluate.py` rule by default (`parse_rule=pope`); the
D-DiT script's rule (VQA normalisation first) is `ddit_vqa`, lmms-eval's strict
one `exact`.  Yes-ratio counts the predictions, as POPE defines it.
"""

from dataclasses import dataclass

from ddit_eval.registry import register_task

from ._answer_rules import PopeRules, PopeRuleSettings
from ._hub_common import DDIT_VQA, LMMS_SHORT, HubAnswerSettings, HubAnswerTask, Protocol, also_works

# lmms-eval's POPE asks for 128 new tokens: more than a 128-token window holds after the prompt (clamped, noted)
POPE_PROTOCOLS = {"ddit": Protocol(DDIT_VQA), "lmms-eval": Protocol(LMMS_SHORT, 128)}


@dataclass(frozen=True)
class POPESettings(PopeRuleSettings, HubAnswerSettings):
    dataset: str = HubAnswerSettings.with_default("dataset", "lmms-lab/POPE")
    split: str = HubAnswerSettings.with_default("split", "test")


@register_task
class POPE(PopeRules, HubAnswerTask):
    name = "pope"
    description = "POPE: yes/no object existence; accuracy, precision, recall, F1, yes-ratio per split"
    data_source = also_works("POPE") + ", split test (category = adversarial / popular / random)"
    doc_columns = ("question_id", "question", "answer", "image_source", "category")
    protocols = POPE_PROTOCOLS
    settings_type = POPESettings

    def sample_id(self, row: dict) -> str:
        return f"{row['category']}/{row['question_id']}"  # question ids restart in each split
