"""Score the probe's answers with the vqav2 task's own scorer, under the probe's metric names.

A record holds `predictions`: {"<encoder>/<k>shot": answer, ..., "ddit_direct": answer}.  Each
key is scored by `vqa_task.evaluate` on the records that have it, and its metrics renamed:
`accuracy` -> `<encoder>/vqa_accuracy_<k>shot` (per answer type `..._<k>shot_<type>`),
`empty_answers` -> `<encoder>/empty_answers_<k>shot`; D-DiT's own answers -> `ddit_direct_vqa_accuracy`.
"""

from __future__ import annotations

from typing import Sequence

from ddit_eval.api import Evaluation

DIRECT = "ddit_direct"


def metric_name(key: str, metric: str) -> str:
    """The probe's name of the vqav2 metric `metric` for prediction key `key`."""
    if key == DIRECT:
        return f"{DIRECT}_vqa_{metric}" if metric.startswith("accuracy") else f"{DIRECT}_{metric}"
    encoder, shots = key.rsplit("/", 1)
    if metric.startswith("accuracy"):
        return f"{encoder}/vqa_accuracy_{shots}{metric[len('accuracy'):]}"
    return f"{encoder}/{metric}_{shots}"


def score_predictions(vqa_task, records: Sequence[dict]) -> Evaluation:
    keys = list(dict.fromkeys(k for r in records for k in r.get("predictions", {})))
    metrics: dict[str, float] = {}
    per_sample: list[dict[str, float]] = [{} for _ in records]
    notes: list[str] = []
    lower_is_better: frozenset[str] = frozenset()
    for key in keys:
        rows = [i for i, r in enumerate(records) if key in r.get("predictions", {})]
        evaluation = vqa_task.evaluate([{**records[i], "prediction": records[i]["predictions"][key]} for i in rows])
        evaluation = evaluation.renamed(lambda m: metric_name(key, m))
        metrics.update(evaluation.metrics)
        for i, scores in zip(rows, evaluation.per_sample):
            per_sample[i].update(scores)
        notes += [f"{key}: {note}" for note in evaluation.notes]
        lower_is_better |= evaluation.lower_is_better
    return Evaluation(metrics, per_sample, notes, lower_is_better)
