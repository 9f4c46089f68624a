"""The paper's GenEval rows for D-DiT and SD3, beside a run's measured row in its report.md.

The numbers are the paper's table as transcribed once (ddit_eval/paper/numbers.json, which
`report --paper` also reads); here they are keyed by our metric names.  They are shown only when
the run followed the full official protocol (553 official prompts, 4 images each, no --limit,
no failed prompt); otherwise the section says why they are not shown.
"""

from __future__ import annotations

from ..metrics.geneval import TAGS
from .metadata import EXPECTED_TAG_COUNTS
from ..schema import TaskSummary

PAPER_ROWS = {"D-DiT (paper)": "D-DiT (ours)", "SD3 (paper)": "SD3"}  # our label -> the table's row
FULL_PROMPTS = sum(EXPECTED_TAG_COUNTS.values())
OFFICIAL_IMAGES_PER_PROMPT = 4
COLUMNS = ("overall", *TAGS)


def paper_rows() -> dict[str, dict[str, float]]:
    """Label -> metric -> the paper's value, for D-DiT and SD3."""
    from ..paper.numbers import MEASURED_BY, paper_table

    table, metric_of = paper_table("geneval"), MEASURED_BY["geneval"]
    return {label: {metric_of[column][1]: value for column, value in table.reported(row).items()}
            for label, row in PAPER_ROWS.items()}


def not_full_protocol(summary: dict, run_config: dict, task_config: dict) -> list[str]:
    """Why a GenEval score is not comparable with the paper's (empty when it is)."""
    why = []
    if summary and TaskSummary.from_json(summary).limit_cut(run_config.get("limit")):  # a limit above the 553 prompts leaves none out
        why.append(f"--limit {run_config['limit']}")
    if summary.get("n", 0) != FULL_PROMPTS:
        why.append(f"{summary.get('n', 0)} of {FULL_PROMPTS} prompts scored")
    if summary.get("errors"):
        why.append(f"{summary['errors']} prompts failed")
    if task_config.get("prompt_set") != "official":
        why.append("not the official prompt file")
    per_prompt = (task_config.get("images") or {}).get("images_per_prompt")
    if per_prompt != OFFICIAL_IMAGES_PER_PROMPT:
        why.append(f"{per_prompt} images per prompt, not {OFFICIAL_IMAGES_PER_PROMPT}")
    return why


def paper_section(summary: dict, run_config: dict, task_config: dict) -> list[str]:
    """Markdown lines for report.md: the measured row with the paper's rows, or why they are not shown."""
    lines = ["", "## GenEval beside the paper", ""]
    why = not_full_protocol(summary, run_config, task_config)
    if why:
        return lines + [f"The paper's GenEval rows (D-DiT, SD3) are shown only for the full official protocol "
                        f"({FULL_PROMPTS} prompts x {OFFICIAL_IMAGES_PER_PROMPT} images, no --limit); "
                        f"not shown here: {'; '.join(why)}."]
    measured = summary.get("metrics", {})
    lines += ["| row | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|",
              "| measured | " + " | ".join(_cell(measured.get(c), 3) for c in COLUMNS) + " |"]
    lines += [f"| {label} | " + " | ".join(_cell(values.get(c), 2) for c in COLUMNS) + " |"
              for label, values in paper_rows().items()]
    return lines


def _cell(value, decimals: int) -> str:
    return "-" if value is None else f"{value:.{decimals}f}"
