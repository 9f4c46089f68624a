"""Measured rows for the paper's tables, read from run folders: value, n, 95% CI, protocol and caveats.

A row with a caveat (--limit that left samples out, part of the benchmark, failed samples, settings other
than the task's defaults, another answerer than the paper's, fewer categories than the paper's number) says
so and is not presented as a reproduction.  An undefined metric (None, e.g. 0/0) is a value of None: "n/a".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..compare import NOT_PROTOCOL
from ..saved_run import SavedRun
from ..results import is_number
from ..schema import TaskSummary, load_results
from .intervals import metric_intervals
from .numbers import MEASURED_BY, PaperTable, full_set_size, not_comparable, paper_answerer

# Settings that say where data or weights are, which parts run or how fast, not how the benchmark is run
# (a feature probe's answerer has its own caveat).
WHERE_KEYS = frozenset({"dataset", "revision", "karpathy_file", "images_dir", "metadata", "detector_weights",
                        "detector_sha256", "clip_weights", "vqa_dataset", "vqa_revision", "cache_dir", "encoders",
                        "checkpoint_every", "infer_batch_size", "answerer_workers", "direct_vqa", "direct_vqa_run",
                        "answerer", "answerer_model", "base_url", "api_key_env"}) | NOT_PROTOCOL
STEPS_ABLATION = "steps-ablation"
FEATURE_PROBE = "feature-probe"
DIRECT, DIRECT_METRIC = "ddit_direct", "ddit_direct_vqa_accuracy"  # the probe's name for D-DiT's own answers


@dataclass(frozen=True)
class Measured:
    value: Optional[float]  # None: the run's metric is undefined (e.g. 0/0)
    n: int
    ci: Optional[tuple[float, float]]


@dataclass
class MeasuredRow:
    label: str
    reference: Optional[str]  # the reported row this run measures again (measured - reported)
    values: dict[str, Measured]
    protocol: str
    caveats: list[str] = field(default_factory=list)
    not_comparable: dict[str, str] = field(default_factory=dict)  # column -> why it is not on the paper's scale


@dataclass
class Run:
    path: Path
    results: dict

    @classmethod
    def load(cls, run_dir) -> "Run":
        return cls(Path(run_dir), load_results(run_dir))

    @property
    def name(self) -> str:
        model = str(self.results.get("config", {}).get("model", "?"))
        return f"{self.path.resolve().name} ({Path(model).name if model.startswith(('/', '.')) else model})"

    def task_config(self, task: str) -> dict:
        return (self.results.get("config", {}).get("tasks") or {}).get(task) or {}


# ----------------------------------------------------------------------------- caveats


def _changed_settings(task: str, recorded: dict, ignore: frozenset = frozenset()) -> list[str]:
    """Settings that differ from the registered task's defaults (JSON-normalised), data locations aside."""
    from ..registry import TASKS

    if task not in TASKS.names():
        return []
    defaults = TASKS.get(task).settings_type.defaults()  # as results.json records them
    return [f"{k}={v}" for k, v in sorted(recorded.items())
            if k in defaults and k not in WHERE_KEYS | ignore and v != defaults[k]]


def task_caveats(run: Run, task: str, summary: dict, settings: dict, inner: Optional[str] = None,
                 ignore: frozenset = frozenset()) -> list[str]:
    """Why this task's number is not a reproduction of the paper's (empty when it is one)."""
    benchmark = inner or task
    out = []
    limit = run.results.get("config", {}).get("limit")
    if summary and TaskSummary.from_json(summary).limit_cut(limit):  # a limit above the task's size left nothing out
        out.append(f"--limit {limit}")
    full = full_set_size(benchmark)
    if full is not None and summary.get("n", 0) < full:
        out.append(f"{summary.get('n', 0)} of {full} samples")
    if summary.get("errors"):
        out.append(f"{summary['errors']} failed samples")
    changed = _changed_settings(benchmark, settings, ignore)
    if changed:
        out.append("non-default " + ", ".join(changed))
    return [f"{benchmark}: {c}" for c in out]


# ----------------------------------------------------------------------------- values


def measure(run: Run, task: str, metrics: list[str]) -> dict[str, Measured]:
    """The recorded values of `metrics` with n and a 95% bootstrap interval from the scored samples;
    a metric the run recorded as undefined (None) is measured as None, without an interval."""
    summary = run.results["tasks"].get(task) or {}
    recorded = summary.get("metrics", {})
    present = [m for m in metrics if is_number(recorded.get(m))]
    undefined = {m: Measured(None, int(summary.get("n", 0)), None) for m in metrics if m in recorded and recorded[m] is None}
    if not present:
        return undefined
    saved = SavedRun(run.path)
    try:
        task_obj = saved.task(task)
    except Exception:  # noqa: BLE001 - unregistered (an ablation cell): per-sample metrics still get intervals
        task_obj = None
    intervals = metric_intervals(saved.scored_records(task), present, task_obj)
    return {**undefined, **{m: Measured(float(recorded[m]), int(summary.get("n", 0)), intervals.get(m)) for m in present}}


def _protocol(config: dict) -> str:
    return str(config.get("protocol") or "default")


def benchmark_rows(table: PaperTable, run: Run) -> list[MeasuredRow]:
    """geneval / understanding: one row per run, its columns from the tasks the run has."""
    sources = {c: s for c, s in MEASURED_BY[table.key].items() if s[0] in run.results["tasks"]}
    if not sources:
        return []
    values, caveats, protocols, scales = {}, [], {}, {}
    for task in dict.fromkeys(t for t, _ in sources.values()):
        found = measure(run, task, [m for t, m in sources.values() if t == task])
        values.update({c: found[m] for c, (t, m) in sources.items() if t == task and m in found})
        config = run.task_config(task)
        caveats += task_caveats(run, task, run.results["tasks"][task], config.get("settings") or {})
        protocols[task] = _protocol(config)
        recorded = run.results["tasks"][task].get("metrics", {})
        for column, (t, metric) in sources.items():
            defined = t == task and metric in found and found[metric].value is not None
            why = not_comparable(task, metric, recorded) if defined else None
            if why:
                scales[column] = why
    caveats += [f"{sources[c][0]}: {sources[c][1]} {why}" for c, why in scales.items()]
    reference = table.ours
    if table.key == "understanding" and "256" in str(run.results.get("config", {}).get("model", "")):
        reference = "D-DiT (256x256)"
    protocol = "; ".join(f"{t}: {p}" for t, p in protocols.items())
    return [MeasuredRow(f"measured: {run.name}", reference, values, protocol, caveats, scales)] if values else []


def steps_rows(table: PaperTable, run: Run) -> list[MeasuredRow]:
    """Study 2: one row per task of the run's steps ablation, read from its summary and cells."""
    summary = (run.results.get("ablations") or {}).get(STEPS_ABLATION) or {}
    rows = []
    for task, part in (summary.get("tasks") or {}).items():
        values, caveats = {}, []
        for cell in part["cells"]:
            column = f"T={cell['steps']}"
            if column in table.columns:  # a value of None (undefined) reads "n/a"
                values[column] = Measured(cell.get("value"), cell["n"], tuple(cell["ci"]) if cell.get("ci") else None)
            inner = run.task_config(cell["cell"]).get("task") or {}
            caveats += task_caveats(run, cell["cell"], run.results["tasks"].get(cell["cell"], {}),
                                    inner.get("settings") or {}, inner=task, ignore=frozenset({"steps"}))
        if not part.get("paper_row"):
            caveats.append(f"{task}: not a task of the paper's table")
        label = f"measured {task} {part['metric']}: {run.name}"
        protocol = _protocol(run.task_config(part["cells"][0]["cell"]).get("task") or {})
        rows.append(MeasuredRow(label, part.get("paper_row"), values, protocol, list(dict.fromkeys(caveats))))
    return rows


def _answerer(config: dict) -> str:
    who = config.get("answerer") or {}
    return " ".join(str(who[k]) for k in ("kind", "model") if who.get(k)) if isinstance(who, dict) else str(who)


def _is_papers_answerer(config: dict) -> bool:
    """GPT-4 itself (a dated snapshot allowed), on an endpoint; gpt-4o or gpt-4-turbo are other models."""
    who = config.get("answerer") or {}
    model = str(who.get("model", "")) if isinstance(who, dict) else str(who)
    return re.fullmatch(r"gpt-4(-\d{4})?", model.strip().lower()) is not None


def probe_rows(table: PaperTable, run: Run) -> list[MeasuredRow]:
    """Study 1: one row per encoder of a feature-probe run (`<encoder>/vqa_accuracy_<k>shot`), and D-DiT's
    direct answers (`ddit_direct_vqa_accuracy`, no in-context examples: the 0-shot column)."""
    summary = run.results["tasks"].get(FEATURE_PROBE)
    if not summary:
        return []
    config = run.task_config(FEATURE_PROBE)
    direct_caveats = task_caveats(run, FEATURE_PROBE, summary, config.get("settings") or {})
    answerer = _answerer(config) or "unknown"
    caveats = direct_caveats + ([] if _is_papers_answerer(config) else [f"answerer {answerer}, not the paper's {paper_answerer()}"])
    columns_of: dict[str, dict[str, str]] = {}
    for metric in summary.get("metrics", {}):
        encoder, _, name = metric.rpartition("/")
        for column in table.columns:
            if encoder and name == f"vqa_accuracy_{column.replace('-', '')}":
                columns_of.setdefault(encoder, {})[column] = metric
    if DIRECT_METRIC in summary.get("metrics", {}):
        columns_of[DIRECT] = {table.columns[0]: DIRECT_METRIC}
    rows = []
    for encoder, columns in columns_of.items():
        found = measure(run, FEATURE_PROBE, list(columns.values()))
        values = {c: found[m] for c, m in columns.items() if m in found}
        rows.append(MeasuredRow(f"measured {encoder}: {run.name}", _probe_reference(table, encoder), values,
                                *((f"answerer {answerer}", caveats) if encoder != DIRECT else ("D-DiT's own answers", direct_caveats))))
    return rows


def _probe_reference(table: PaperTable, encoder: str) -> Optional[str]:
    """The reported row a measured encoder repeats: clip -> CLIP ViT L/14, an sd3 encoder -> SD3 (frozen or
    trainable), D-DiT's direct answers -> D-DiT; the loaded D-DiT's own features have no reported row."""
    name = encoder.lower()
    if name == DIRECT:
        return table.ours
    if "clip" in name:
        return "CLIP ViT L/14 (frozen)"
    if "sd3" in name:
        return "SD3 feature (trainable)" if "train" in name else "SD3 feature (frozen)"
    return None


READERS = {"geneval": benchmark_rows, "understanding": benchmark_rows, "feature-probe": probe_rows,
           "steps-ablation": steps_rows}
