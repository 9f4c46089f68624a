"""feature-probe: the paper's Study 1 - do image features transfer to language?

Each encoder's features of COCO train images train a GPT-2 prefix decoder to caption; the decoder
captions the VQAv2 images; an answerer LM answers each question from the caption, 0-shot and
with 32 in-context examples; the vqav2 task's scorer gives VQA accuracy.  Beside it, D-DiT's own
answers to the same questions.  A pipeline with training, not per-sample requests: the CLI calls
`run_pipeline(model, run_dir, options)` (ddit_eval.probe.pipeline).

Metrics (x100, official VQA accuracy): `<encoder>/vqa_accuracy_<k>shot` for each encoder and
shot count k (default `ddit/` and `clip/`, k = 0 and 32), per answer type
`<encoder>/vqa_accuracy_<k>shot_<type>` (yes_no, number, other), `<encoder>/empty_answers_<k>shot`;
`ddit_direct_vqa_accuracy` (and per type) for D-DiT's own answers.  `probe` in the results holds
each encoder's identity, feature-cache use and decoder training losses, the answerer's identity,
the prompt templates and one full prompt per shot count.
"""

from __future__ import annotations

from functools import cached_property
from typing import Iterator, Sequence

from ddit_eval.api import ANSWER, Evaluation, Pipeline, Sample, Task
from ddit_eval.errors import UsageError
from ddit_eval.probe import settings as probe
from ddit_eval.registry import TASKS, register_task
from ddit_eval.schema import load_results


@register_task
class FeatureProbe(Pipeline):
    name = "feature-probe"
    description = "Study 1: encoder features -> GPT-2 captions -> LM answers VQAv2 (0/32-shot), vs D-DiT's own answers"
    data_source = "VQAv2 (as the vqav2 task) + Karpathy dataset_coco.json and COCO train2014 images (set karpathy_file, images_dir)"
    primary_metric = "ddit/vqa_accuracy_0shot"
    # What the model is asked inside the pipeline (D-DiT's direct answers), so the CLI can check the backend
    # serves it; the runner does not drive this task sample by sample: `run_pipeline` does.
    request_kind = ANSWER
    settings_type = probe.ProbeSettings

    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        self.primary_metric = f"{self.encoders()[0]}/vqa_accuracy_{self.shots()[0]}shot"

    def encoders(self) -> list[str]:
        return list(self.settings.encoders)

    def shots(self) -> list[int]:
        return list(self.settings.shots)  # ascending

    @cached_property
    def vqa(self) -> Task:
        s = self.settings
        return TASKS.get("vqav2")(dataset=s.vqa_dataset, revision=s.vqa_revision, split=s.vqa_split, vqa_rule=s.vqa_rule)

    def training_data(self):
        from ddit_eval.probe.data import coco_training_captions

        s = self.settings
        return coco_training_captions(s.karpathy_file, s.images_dir, s.train_splits, s.train_images)

    def samples(self) -> Iterator[Sample]:
        return self.vqa.samples()

    def evaluate(self, records: Sequence[dict]) -> Evaluation:
        from ddit_eval.probe.scoring import score_predictions

        return score_predictions(self.vqa, records)

    def run_pipeline(self, model, run_dir, options):
        """The whole probe, durable step by step; a TaskOutcome, as `TaskRunner.run` returns."""
        from ddit_eval.probe.pipeline import run_feature_probe

        return run_feature_probe(self, model, run_dir, options)

    def preflight(self) -> None:
        from ddit_eval.probe.answerers import check_answerer_settings

        s = self.settings
        if not s.karpathy_file or not s.images_dir:
            raise UsageError("feature-probe trains its decoder on COCO captions: --set feature-probe.karpathy_file="
                             "PATH/dataset_coco.json --set feature-probe.images_dir=PATH (the folder holding train2014/)")
        if (s.direct_vqa == "from-run") != bool(s.direct_vqa_run):
            raise UsageError("feature-probe: direct_vqa=from-run and direct_vqa_run=RUN_DIR go together")
        if s.direct_vqa_run and "vqav2" not in load_results(s.direct_vqa_run)["tasks"]:
            raise UsageError(f"feature-probe: direct_vqa_run {s.direct_vqa_run!r} holds no vqav2 results")
        check_answerer_settings(s)
        self.vqa.table  # the data loads now, not after the encoders ran

    def config(self) -> dict:
        from ddit_eval.probe.answerers import describe_answerer
        from ddit_eval.probe.prompts import templates

        return {**super().config(), "vqa": self.vqa.config(), "answerer": describe_answerer(self.settings),
                "paper_answerer": probe.PAPER_ANSWERER, "prompt_templates": templates()}
