"""The paper's reported numbers (numbers.json, transcribed once) and which of our tasks measures each.

Reported values are shown with the table's own decimals, so every baseline row reads exactly as printed
in the paper ("0.50", "1124.7"); a value the paper leaves out is None and shows as "-".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

NUMBERS_FILE = Path(__file__).with_name("numbers.json")

# What measures each reported number: table -> column (or row, for the steps table) -> (task, metric).
MEASURED_BY: dict[str, dict[str, tuple[str, str]]] = {
    "geneval": {"Overall": ("geneval", "overall"), "Single": ("geneval", "single_object"),
                "Two": ("geneval", "two_object"), "Counting": ("geneval", "counting"), "Colors": ("geneval", "colors"),
                "Position": ("geneval", "position"), "Color attribution": ("geneval", "color_attr")},
    "understanding": {"MS-COCO CIDEr": ("coco-caption", "CIDEr"), "VQAv2": ("vqav2", "accuracy"),
                      "VizWiz": ("vizwiz", "accuracy"), "OKVQA": ("okvqa", "accuracy"), "MME": ("mme", "perception"),
                      "GQA": ("gqa", "accuracy"), "POPE": ("pope", "accuracy")},
    "steps-ablation": {"VQAv2 (acc.)": ("vqav2", "accuracy"), "MS-COCO (CIDEr)": ("coco-caption", "CIDEr")},
}


def _paper_scopes() -> dict[tuple[str, str], tuple[str, tuple[str, ...]]]:
    """(task, metric) -> (what its parts are, the metrics of every part): a number the paper reports over a set of
    categories (MME perception sums 10, GenEval overall averages 6 tags, POPE pools 3 splits) is on the paper's
    scale only when the run measured every part."""
    from ..metrics.geneval import TAGS
    from ..metrics.yesno import PERCEPTION

    return {("mme", "perception"): ("perception categories", tuple(f"{c}_score" for c in PERCEPTION)),
            ("geneval", "overall"): ("GenEval tags", TAGS),
            ("pope", "accuracy"): ("POPE splits", tuple(f"{s}_accuracy" for s in ("adversarial", "popular", "random")))}


def not_comparable(task: str, metric: str, metrics: dict) -> Optional[str]:
    """Why a measured value is not on the scale of the paper's number (None when it is): measured over fewer
    categories than the paper's, e.g. "measured over 4 of 10 perception categories"."""
    scope = _paper_scopes().get((task, metric))
    if scope is None:
        return None
    what, parts = scope
    measured = sum(metrics.get(part) is not None for part in parts)
    return None if measured == len(parts) else f"measured over {measured} of {len(parts)} {what}"


@dataclass(frozen=True)
class PaperTable:
    """One table of the paper: descriptive key columns, numeric columns, and its rows as reported."""

    key: str
    title: str
    decimals: int
    key_columns: tuple[str, ...]
    columns: tuple[str, ...]
    rows: tuple[dict, ...]  # each: the key columns' text and "values" (one per column, None = "-")
    ours: Optional[str]  # the reported row of the model a run measures (its key column "model"-like value)

    @property
    def label_column(self) -> str:
        """The key column that names a row (model, encoder, task)."""
        return self.key_columns[1] if self.key_columns[0] == "group" else self.key_columns[0]

    def fmt(self, value: Optional[float]) -> str:
        return "-" if value is None else f"{value:.{self.decimals}f}"

    def reported(self, label: str) -> dict[str, Optional[float]]:
        """column -> reported value of the row named `label`."""
        for row in self.rows:
            if row[self.label_column] == label:
                return dict(zip(self.columns, row["values"]))
        raise KeyError(f"{self.key} has no reported row {label!r}")


@lru_cache(maxsize=1)
def _numbers() -> dict:
    return json.loads(NUMBERS_FILE.read_text())


def paper_table(key: str) -> PaperTable:
    spec = _numbers()["tables"][key]
    return PaperTable(key, spec["title"], spec["decimals"], tuple(spec["key_columns"]), tuple(spec["columns"]),
                      tuple(spec["rows"]), spec.get("ours"))


def table_keys() -> list[str]:
    return list(_numbers()["tables"])


def full_set_size(task: str) -> Optional[int]:
    """Samples in the split the paper reports on (a run with fewer is a partial set, not a reproduction)."""
    return _numbers()["full_sets"].get(task)


def paper_answerer() -> str:
    return _numbers()["tables"]["feature-probe"]["answerer"]


def steps_reported() -> dict[str, tuple[str, str, dict[int, float]]]:
    """Study 2 as reported: task -> (paper row, metric, {steps: value})."""
    table = paper_table("steps-ablation")
    steps = _numbers()["tables"]["steps-ablation"]["steps"]
    out = {}
    for row in table.rows:
        task, metric = MEASURED_BY["steps-ablation"][row["task"]]
        out[task] = (row["task"], metric, dict(zip(steps, row["values"])))
    return out
