"""The D-DiT paper's tables as package data, and the report that puts measured runs beside them.

`numbers.json` is the paper's numbers, transcribed once (`numbers.py` reads it and says which of our
tasks measures each); `measured.py` reads runs; `report.py` writes `report --paper`.
"""

from .numbers import MEASURED_BY, PaperTable, full_set_size, paper_table, steps_reported, table_keys

__all__ = ["MEASURED_BY", "PaperTable", "full_set_size", "paper_table", "steps_reported", "table_keys"]
