"""A tiny local lmms-eval task (YAML + utils + data on disk) built from ddit-eval's shapes-pope samples.

lmms-eval loads it through `include_path`, offline: the data is a `datasets`
folder read with `dataset_kwargs: {load_from_disk: true}`.  Its doc_to_text and
scoring are lmms-eval's own POPE functions, so the task asks what lmms-eval's
`pope` asks, in lmms-eval's short-answer form.
"""

from __future__ import annotations

from pathlib import Path

TASK = "ddit_toy_pope"

UTILS = '''
from lmms_eval.tasks.pope import utils as pope
from lmms_eval.tasks.pope.utils import pope_aggregate_accuracy, pope_doc_to_text  # noqa: F401


def doc_to_visual(doc):
    return [doc["image"].convert("RGB")]


def process_results(doc, results):
    return {"pope_accuracy": pope.pope_process_results(doc, results)["pope_accuracy"]}
'''

YAML = '''task: {task}
dataset_path: {data}
dataset_kwargs:
  load_from_disk: true
test_split: test
output_type: generate_until
doc_to_visual: !function utils.doc_to_visual
doc_to_text: !function utils.pope_doc_to_text
doc_to_target: "answer"
generation_kwargs:
  max_new_tokens: 4
process_results: !function utils.process_results
metric_list:
  - metric: pope_accuracy
    aggregation: !function utils.pope_aggregate_accuracy
    higher_is_better: true
lmms_eval_specific_kwargs:
  default:
    pre_prompt: ""
    post_prompt: "\\nAnswer the question using a single word or phrase."
metadata:
  - version: 0.0
'''


def shapes_docs(n: int) -> list[dict]:
    """The first n shapes-pope samples as POPE-style rows with their rendered image."""
    from ddit_eval.registry import TASKS
    from ddit_eval.tasks._shapes_common import render_doc

    task = TASKS.get("shapes-pope")()
    rows = []
    for sample in task.samples():
        doc = sample.doc
        rows.append({"question_id": doc["question_id"], "question": doc["question"], "answer": doc["answer"],
                     "category": doc["category"], "image": render_doc(doc, task.settings.resolution)})
        if len(rows) == n:
            return rows
    return rows


def write_task(folder: Path, n: int) -> Path:
    """Write data/, utils.py and the YAML into `folder` (the include path); return it."""
    import datasets

    data = folder / "data"
    datasets.DatasetDict({"test": datasets.Dataset.from_list(shapes_docs(n))}).save_to_disk(str(data))
    (folder / "utils.py").write_text(UTILS)
    (folder / f"{TASK}.yaml").write_text(YAML.format(task=TASK, data=data))
    return folder
