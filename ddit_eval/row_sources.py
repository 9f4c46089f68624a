"""What a `data.Table` reads its rows from, whichever library holds them.

Every source answers the same five questions (column names, length, rows in order, one row, one
column), so `Table` neither knows nor cares whether the rows sit in parquet read in place
(`parquet_table.py`) or in a `datasets.Dataset` (hub data, `save_to_disk` folders, and layouts we leave
to `datasets`).  Images stay `{bytes, path}` in every source: building samples decodes nothing.
"""

from __future__ import annotations

from typing import Iterator, Protocol, Sequence

ROW_BATCH = 2048  # rows per read when building samples: memory stays flat over any split


class RowSource(Protocol):
    @property
    def column_names(self) -> list[str]: ...

    def __len__(self) -> int: ...

    def iter_rows(self, columns: Sequence[str]) -> Iterator[dict]: ...

    def row(self, index: int, columns: Sequence[str]) -> dict: ...

    def column(self, name: str) -> list: ...


class DatasetRows:
    """A `datasets.Dataset` (memory-mapped Arrow) as a row source, its image columns left undecoded."""

    def __init__(self, dataset) -> None:
        import datasets

        self.image_columns = [n for n, f in dataset.features.items() if isinstance(f, datasets.Image)]
        for name in self.image_columns:
            dataset = dataset.cast_column(name, datasets.Image(decode=False))
        self.dataset = dataset
        self._views: dict[tuple, object] = {}

    @property
    def column_names(self) -> list[str]:
        return list(self.dataset.column_names)

    def __len__(self) -> int:
        return len(self.dataset)

    def iter_rows(self, columns: Sequence[str]) -> Iterator[dict]:
        part = self.dataset.select_columns(list(columns))
        for batch in part.iter(batch_size=ROW_BATCH):
            for i in range(len(batch[columns[0]])):
                yield {c: batch[c][i] for c in columns}

    def row(self, index: int, columns: Sequence[str]) -> dict:
        key = tuple(columns)
        if key not in self._views:
            self._views[key] = self.dataset.select_columns(list(columns))
        return self._views[key][int(index)]

    def column(self, name: str) -> list:
        return list(self.dataset.select_columns([name]).to_dict()[name])
