"""A ddit-eval run in lmms-eval 0.7.3's result-file layout, for the tools people have for lmms-eval logs.

`run --log-format lmms-eval` writes, beside our own files:
    RUN_DIR/lmms-eval/<sanitized model>/<YYYYMMDD_HHMMSS>_results.json
    RUN_DIR/lmms-eval/<sanitized model>/<YYYYMMDD_HHMMSS>_samples_<task>.jsonl
so `lmms-eval --baseline FILE`, its log viewer or a script that globs
`*_results.json` reads a ddit-eval run like one of its own.  Metrics keep
ddit-eval's names and units (percentages, MME points) under lmms-eval's key
style (`"accuracy,none"`, `"accuracy_stderr,none"`).  Needs no lmms-eval install.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from ddit_eval.run_folder import RunFolder
from ddit_eval.schema import TaskSummary
from ddit_eval.results import read_jsonl, write_json_atomic, write_text_atomic

FILTER = "none"  # lmms-eval's key suffix when no filter ran
TARGET_KEYS = ("answer", "multiple_choice_answer", "answers", "references", "captions")


def sanitize_model_name(model: str) -> str:
    """lmms-eval's folder name for a model: its last two path parts, separators and odd characters as '__'."""
    last_two = "/".join(model.rstrip("/").split("/")[-2:])
    return re.sub(r"[\"<>:/\|\\?\*\[\]]+", "__", last_two)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _stderr(values: Sequence[float]) -> float | str:
    """Standard error of a mean of per-sample scores; lmms-eval writes "N/A" where there is none."""
    n = len(values)
    if n < 2:
        return "N/A"
    mean = sum(values) / n
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n)


def task_results(name: str, summary: Mapping, lines: Sequence[dict]) -> dict:
    """`results[task]`: every metric as "<metric>,none", with a stderr where per-sample scores average to it."""
    out: dict[str, Any] = {"alias": name}
    for metric, value in summary.get("metrics", {}).items():
        out[f"{metric},{FILTER}"] = value
        per_sample = [line[metric] for line in lines if metric in line]
        out[f"{metric}_stderr,{FILTER}"] = _stderr(per_sample) if lines and len(per_sample) == len(lines) else "N/A"
    return out


def task_config(name: str, config: Mapping) -> dict:
    """`configs[task]`: lmms-eval's task-config fields that have a meaning here, and our whole task config."""
    dataset = config.get("dataset") if isinstance(config.get("dataset"), Mapping) else {}
    settings = config.get("settings", {})
    generation = {"max_new_tokens": config.get("answer_length", settings.get("answer_length")),
                  "steps": config.get("steps", settings.get("steps"))}
    return {"task": name, "dataset_path": dataset.get("id"), "dataset_name": dataset.get("config"),
            "test_split": dataset.get("split", settings.get("split")),
            "output_type": "generate_until",
            "generation_kwargs": generation, "num_fewshot": 0, "metadata": {"version": 0.0}, "ddit_eval": dict(config)}


def sample_line(doc_id: int, record: Mapping) -> dict:
    """One `_samples_<task>.jsonl` line, with lmms-eval's keys (its tracker drops `doc` and `arguments`)."""
    doc = {k: v for k, v in record.items() if k not in ("prediction", "scores", "seed", "prompt")}
    target = next((record[k] for k in TARGET_KEYS if k in record), "")
    # lmms-eval's tracker flattens one response per document to the response itself
    return {"doc_id": doc_id, "target": str(target), "filtered_resps": record["prediction"], "token_counts": [None],
            "doc_hash": _hash(json.dumps(doc, indent=2, ensure_ascii=False, default=str)), **record.get("scores", {}),
            "input": record.get("prompt", record.get("question", "")), "ddit_eval_id": record["id"],
            "ddit_eval_seed": record.get("seed")}


def sample_lines(records: Sequence[dict]) -> list[dict]:
    """Scored records as lines; doc_id is the dataset row where the task knows it, else the sample's position."""
    return [sample_line(int(r.get("row", position)), r) for position, r in enumerate(records) if "error" not in r]


def results_document(results: Mapping, lines_by_task: Mapping[str, list[dict]], model: str, date: str) -> dict:
    """The `_results.json` document, in lmms-eval's key order."""
    config, tasks = results.get("config", {}), results.get("tasks", {})
    task_configs = config.get("tasks", {})
    hashes = {t: _hash("".join(f"sample_{i}{line['doc_hash']}" for i, line in enumerate(lines)))
              for t, lines in lines_by_task.items()}
    total = results.get("timing", {}).get("total_s")
    args = f"pretrained={model},seed={config.get('seed')}"
    return {
        "results": {t: task_results(t, tasks[t], lines_by_task.get(t, [])) for t in tasks},
        "group_subtasks": {t: [] for t in reversed(list(tasks))},
        "configs": {t: task_config(t, task_configs.get(t, {})) for t in sorted(tasks)},
        "versions": {t: f"ddit-eval {results.get('versions', {}).get('ddit_eval')}" for t in sorted(tasks)},
        "n-shot": {t: 0 for t in sorted(tasks)},
        "higher_is_better": {t: {m: TaskSummary.from_json(tasks[t]).higher_is_better(m) for m in tasks[t].get("metrics", {})}
                             for t in sorted(tasks)},
        "n-samples": {t: {"original": tasks[t].get("n", 0) + tasks[t].get("errors", 0), "effective": tasks[t].get("n", 0)}
                      for t in tasks},
        "config": {"model": "ddit", "model_args": args, "model_backend": "ddit_eval (ddit-eval run)",
                   "batch_size": config.get("batch_size"), "batch_sizes": [], "device": config.get("device"),
                   "limit": config.get("limit"), "gen_kwargs": None, "random_seed": config.get("seed"),
                   "ddit_eval": {**{k: v for k, v in config.items() if k != "tasks"}, "versions": results.get("versions", {})}},
        "git_hash": results.get("versions", {}).get("git_commit"),
        "git_branch": None, "lmms_eval_version": None,  # written by ddit-eval, not by an lmms-eval run
        "date": date,
        "task_hashes": hashes,
        "model_source": "ddit", "model_name": model, "model_name_sanitized": sanitize_model_name(model),
        "system_instruction": None, "system_instruction_sha": None, "fewshot_as_multiturn": False,
        "chat_template": None, "chat_template_sha": None, "start_time": None, "end_time": None,
        "total_evaluation_time_seconds": None if total is None else str(total),
    }


def write_lmms_eval_results(run_dir: str | Path, results: Mapping, records_by_task: Optional[Mapping[str, list[dict]]],
                            model_name: str) -> list[Path]:
    """Write the run's lmms-eval files; return their paths.

    `records_by_task` are the sample records (errors included, so positions stay
    the samples' own); None reads them from RUN_DIR/samples/<task>.jsonl.  Files
    an earlier call wrote for this model are replaced: a run folder holds one
    run, and a resumed run's files must mirror its final results.json.
    """
    run = RunFolder(run_dir)
    if records_by_task is None:
        logs = {t: run.sample_log(t).path for t in results.get("tasks", {})}
        records_by_task = {t: read_jsonl(path) for t, path in logs.items() if path.exists()}  # summaries have no log
    folder = run.lmms_eval_dir(sanitize_model_name(model_name))
    date = datetime.now(timezone.utc).strftime("%Y%m%d_%H%M%S")
    lines_by_task = {t: sample_lines(records) for t, records in records_by_task.items()}
    stale = [*folder.glob("*_results.json"), *folder.glob("*_samples_*.jsonl")]
    written = []
    for task, lines in lines_by_task.items():
        path = folder / f"{date}_samples_{task}.jsonl"
        write_text_atomic(path, (json.dumps(line, ensure_ascii=False, default=str) + "\n" for line in lines))
        written.append(path)
    path = folder / f"{date}_results.json"
    write_json_atomic(path, results_document(results, lines_by_task, model_name, date))
    written.append(path)
    for old in stale:
        if old not in written:
            old.unlink(missing_ok=True)
    return written
