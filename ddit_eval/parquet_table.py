"""Rows of local parquet or Arrow IPC files, read where they lie: no copy, no cache, no file written.

`datasets.load_dataset` would first convert a snapshot into Arrow under its cache (doubling VQAv2's disk
use); these readers give the same rows and values straight from the files.  Parquet is read a row group
at a time, only the columns asked for (building samples never touches the image column); Arrow IPC
files are memory-mapped.  A file whose schema is not exactly what `datasets` would hand back (it would
cast) raises `NotInPlace`, and the caller lets `datasets` read it.
"""

from __future__ import annotations

import bisect
import threading
from pathlib import Path
from typing import Iterator, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from .local_layout import LocalFiles, NotInPlace
from .row_sources import ROW_BATCH

_OPEN_FILES = 8  # parquet files kept open at once (a split may have hundreds of shards)


def check_values_as_datasets_gives(local: LocalFiles, schema: pa.Schema) -> None:
    """`NotInPlace` unless `datasets` would hand back the files' own values, uncast and undecoded.

    Its features are the card's for this config, else those the first file carries; the files must
    already have that Arrow schema, and no column but top-level images (which we too leave encoded)
    may be one that `datasets` decodes on access."""
    import datasets
    from datasets.features.features import require_decoding
    from datasets.info import DatasetInfosDict
    from huggingface_hub import DatasetCardData

    try:
        declared = DatasetInfosDict.from_dataset_card_data(DatasetCardData(**local.card)).get(local.config)
    except (TypeError, ValueError, KeyError) as exc:  # a card `datasets` cannot read either: it says why
        raise NotInPlace(f"card features unreadable: {exc}") from None
    features = (declared.features if declared is not None else None) or datasets.Features.from_arrow_schema(schema)
    if not schema.remove_metadata().equals(pa.schema(features.type), check_metadata=False):
        raise NotInPlace("the files' schema differs from the declared features (datasets would cast)")
    if any(require_decoding(f) for f in features.values() if not isinstance(f, datasets.Image)):
        raise NotInPlace("a column datasets decodes on access (audio, nested images, ...)")


class ParquetRows:
    """Parquet shards as one table: row groups located by row number, only requested columns read."""

    def __init__(self, files: Sequence[Path]) -> None:
        self.files = list(files)
        self._starts, self._groups = [], []  # first row of each (file, row group), in reading order
        schema, total = None, 0
        for index, path in enumerate(self.files):
            meta = pq.read_metadata(path)
            file_schema = meta.schema.to_arrow_schema()
            if schema is None:
                schema = file_schema
            elif not file_schema.equals(schema, check_metadata=False):
                raise NotInPlace(f"{path.name} has another schema than {self.files[0].name}")
            for group in range(meta.num_row_groups):
                self._starts.append(total)
                self._groups.append((index, group))
                total += meta.row_group(group).num_rows
        self.schema, self.num_rows = schema, total
        self._open: dict[int, pq.ParquetFile] = {}
        self._last: dict[tuple, tuple] = {}  # columns -> ((file, row group), table): the last row group read
        self._lock = threading.Lock()  # loader threads share one reader

    @property
    def column_names(self) -> list[str]:
        return list(self.schema.names)

    def __len__(self) -> int:
        return self.num_rows

    def _file(self, index: int) -> pq.ParquetFile:
        """A shard kept open for random reads (the least recently used is closed past `_OPEN_FILES`)."""
        handle = self._open.pop(index, None) or pq.ParquetFile(self.files[index], memory_map=True)
        self._open[index] = handle
        if len(self._open) > _OPEN_FILES:
            self._open.pop(next(iter(self._open))).close()
        return handle

    def iter_rows(self, columns: Sequence[str]) -> Iterator[dict]:
        """Shard after shard, a batch at a time; a reader of its own, so loader threads may read meanwhile."""
        columns = list(columns)
        for path in self.files:
            with pq.ParquetFile(path, memory_map=True) as shard:
                for batch in shard.iter_batches(batch_size=ROW_BATCH, columns=columns):
                    yield from _batch_rows(batch, columns)

    def row(self, index: int, columns: Sequence[str]) -> dict:
        if not 0 <= index < self.num_rows:
            raise IndexError(f"row {index} is out of range: the split has {self.num_rows} rows")
        at = bisect.bisect_right(self._starts, index) - 1
        key = tuple(columns)
        with self._lock:
            cached = self._last.get(key)
            if cached is None or cached[0] != at:
                file_index, group = self._groups[at]
                cached = (at, self._file(file_index).read_row_group(group, columns=list(columns)))
                self._last[key] = cached
        return _one_row(cached[1], index - self._starts[at], columns)

    def column(self, name: str) -> list:
        out = []
        for path in self.files:
            with pq.ParquetFile(path, memory_map=True) as shard:
                out += shard.read(columns=[name]).column(0).to_pylist()
        return out


class ArrowRows:
    """Arrow IPC files (file or stream format), memory-mapped: the table's buffers are the file's pages."""

    def __init__(self, files: Sequence[Path]) -> None:
        tables = [_read_ipc(path) for path in files]
        schema = tables[0].schema
        if any(not t.schema.equals(schema, check_metadata=False) for t in tables[1:]):
            raise NotInPlace("the Arrow files differ in schema")
        self.table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        self.schema, self.num_rows = schema, self.table.num_rows

    @property
    def column_names(self) -> list[str]:
        return list(self.schema.names)

    def __len__(self) -> int:
        return self.num_rows

    def iter_rows(self, columns: Sequence[str]) -> Iterator[dict]:
        for batch in self.table.select(list(columns)).to_batches(max_chunksize=ROW_BATCH):
            yield from _batch_rows(batch, list(columns))

    def row(self, index: int, columns: Sequence[str]) -> dict:
        if not 0 <= index < self.num_rows:
            raise IndexError(f"row {index} is out of range: the split has {self.num_rows} rows")
        return _one_row(self.table.select(list(columns)), index, columns)

    def column(self, name: str) -> list:
        return self.table.column(name).to_pylist()


def _read_ipc(path: Path) -> pa.Table:
    """`datasets` writes the stream format; other tools the file format: both open from a memory map."""
    source = pa.memory_map(str(path), "r")
    try:
        return pa.ipc.open_file(source).read_all()
    except pa.ArrowInvalid:
        source.seek(0)
        return pa.ipc.open_stream(source).read_all()


def _batch_rows(batch, columns: list[str]) -> Iterator[dict]:
    """A batch's rows as dicts keyed in the order asked for."""
    values = [batch.column(name).to_pylist() for name in columns]
    for row in zip(*values):
        yield dict(zip(columns, row))


def _one_row(table: pa.Table, offset: int, columns: Sequence[str]) -> dict:
    part = table.slice(offset, 1)
    return {name: part.column(name)[0].as_py() for name in columns}


def open_rows(local: LocalFiles) -> ParquetRows | ArrowRows:
    """The rows of resolved local files; `NotInPlace` where `datasets` must read them (it would cast)."""
    rows = ParquetRows(local.files) if local.kind == "parquet" else ArrowRows(local.files)
    check_values_as_datasets_gives(local, rows.schema)
    return rows
