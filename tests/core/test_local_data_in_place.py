"""Local parquet and Arrow data are read where they lie (issue 22): the rows `datasets` would give, no file written.

Each fixture benchmark (``helpers.benchmark_data``) is opened through `open_table` and compared, row by
row and column by column, with `datasets.load_dataset` of the same folder (images as their stored
``{bytes, path}`` and decoded to the same pixels).  The caches are pointed at temporary folders and
must stay absent; building rows must never read the image column; layouts we do not resolve go
through `datasets`, cached in our own folder, with its progress bars silent.
"""

import io
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from PIL import Image

from ddit_eval import data
from ddit_eval.cache_folder import cache_root, datasets_cache
from ddit_eval.data import DataRef, open_table
from ddit_eval.errors import UsageError
from ddit_eval.local_layout import resolve_files
from helpers import benchmark_data as bd

datasets = pytest.importorskip("datasets")

SPLITS = [(name, config, split) for name, spec in sorted(bd.BENCHMARKS.items())
          for config, cfg in spec.configs.items() for split in cfg.splits]
PROVENANCE_KEYS = {"id", "layout", "fingerprint", "fingerprint_method", "config", "split", "revision", "rows", "reader"}


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub")
    return {name: bd.make_hub_snapshot(name, root) for name in bd.BENCHMARKS}


@pytest.fixture
def caches(tmp_path, monkeypatch):
    """Our cache and the datasets cache (env and the value `datasets` read at import) in temporary folders."""
    ours, theirs = tmp_path / "ddit-cache", tmp_path / "hf-datasets-cache"
    monkeypatch.setenv("DDIT_EVAL_CACHE", str(ours))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(theirs))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", theirs)
    return ours, theirs


def reference(folder, config, split, cache):
    """What the old path read: `datasets.load_dataset`, image columns left as stored."""
    ds = datasets.load_dataset(str(folder), name=config, split=split, cache_dir=str(cache))
    for name, feature in ds.features.items():
        if isinstance(feature, datasets.Image):
            ds = ds.cast_column(name, datasets.Image(decode=False))
    return ds


def files_under(folder):
    return sorted(p for p in folder.rglob("*")) if folder.exists() else []


def listing(folder):
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


@pytest.mark.parametrize("name, config, split", SPLITS)
def test_every_row_and_column_equals_what_datasets_gives(snapshots, tmp_path, name, config, split):
    folder = snapshots[name]
    table = open_table(DataRef(str(folder), split, config))
    want = reference(folder, config, split, tmp_path / "reference-cache")
    assert table.provenance["reader"] == data.READ_PARQUET
    assert table.columns == want.column_names and len(table) == want.num_rows > 0
    every = table.columns
    assert list(table.rows(every)) == [want[i] for i in range(want.num_rows)]
    backwards = range(len(table) - 1, -1, -1)  # a row group read per step: the cache must not serve stale rows
    assert [table.row(i, every) for i in backwards] == [want[i] for i in backwards]
    for column in every:
        assert table.column(column) == want[column], column
    assert list(table.rows(every[:1][::-1])) == [{every[0]: v} for v in want[every[0]]]
    for column, feature in want.features.items():
        if isinstance(feature, datasets.Image):
            decoded = want.cast_column(column, datasets.Image())
            for i in range(len(table)):
                got, expected = table.image(i, column), decoded[i][column].convert("RGB")
                assert got.size == expected.size and got.tobytes() == expected.tobytes()


@pytest.mark.parametrize("name, config, split", SPLITS)
def test_files_are_resolved_as_datasets_resolves_them(snapshots, tmp_path, name, config, split):
    folder = snapshots[name]
    builder = datasets.load_dataset_builder(str(folder), name=config, cache_dir=str(tmp_path / "builder-cache"))
    assert [str(p) for p in resolve_files(folder, config, split).files] == list(builder.config.data_files[split])


def test_default_config_is_the_one_datasets_picks(snapshots):
    assert resolve_files(snapshots["POPE"], None, "test").config == "default"
    assert resolve_files(snapshots["VizWiz-VQA"], None, "val").config == "default"  # no `configs:` in its card
    with pytest.raises(UsageError, match="several configs"):
        open_table(DataRef(str(snapshots["GQA"]), "testdev"))


def test_provenance_is_as_before_plus_the_reader(snapshots):
    table = open_table(DataRef(str(snapshots["VQAv2"]), "validation"))
    recorded = table.provenance
    assert set(recorded) == PROVENANCE_KEYS
    assert recorded["layout"] == "hub snapshot" and len(recorded["fingerprint"]) == 64
    assert (recorded["id"], recorded["config"], recorded["split"], recorded["rows"]) == \
        (str(snapshots["VQAv2"].resolve()), None, "validation", bd.expected_counts("VQAv2")[("default", "validation")])


def test_opening_a_snapshot_writes_no_file_anywhere(snapshots, caches, capfd):
    ours, theirs = caches
    for name, config, split in SPLITS:
        folder = snapshots[name]
        before = listing(folder)
        table = open_table(DataRef(str(folder), split, config))
        list(table.rows(table.columns))
        if "image" in table.columns:
            table.image(len(table) - 1)
        assert listing(folder) == before, name
    assert files_under(ours) == [] and files_under(theirs) == []
    err = capfd.readouterr().err
    assert "Generating" not in err and "%|" not in err
    # the check can fail: the old path writes its Arrow copy where `caches` points
    datasets.load_dataset(str(snapshots["OK-VQA"]), split="val2014")
    assert files_under(theirs)


def test_save_to_disk_is_memory_mapped_and_writes_nothing(tmp_path, caches):
    ours, theirs = caches
    folder = bd.make_save_to_disk("VQAv2", tmp_path / "disk")
    before = listing(folder)
    table = open_table(DataRef(str(folder), "validation"))
    assert table.provenance["reader"] == data.READ_FROM_DISK and table.provenance["layout"] == "save_to_disk"
    assert len(list(table.rows(table.columns))) == len(table) and table.image(0).mode == "RGB"
    assert listing(folder) == before and files_under(ours) == [] and files_under(theirs) == []


class ColumnSpy:
    """Records the `columns` of every ParquetFile read (None: every column)."""

    def __init__(self, monkeypatch):
        self.asked = []
        for method in ("iter_batches", "read_row_group", "read_row_groups", "read"):
            real = getattr(pq.ParquetFile, method)
            monkeypatch.setattr(pq.ParquetFile, method, self._wrap(real))

    def _wrap(self, real):
        def spy(pf, *args, columns=None, **kwargs):
            self.asked.append(None if columns is None else tuple(columns))
            return real(pf, *args, columns=columns, **kwargs)
        return spy

    def read_image(self):
        return any(c is None or "image" in c for c in self.asked)


def test_building_rows_never_reads_the_image_column(snapshots, monkeypatch):
    spy = ColumnSpy(monkeypatch)
    table = open_table(DataRef(str(snapshots["VQAv2"]), "validation"))
    rows = list(table.rows(["question", "question_id"]))
    table.row(len(rows) - 1, ["answers"])
    table.column("question_id")
    assert spy.asked and not spy.read_image(), spy.asked
    assert set(rows[0]) == {"question", "question_id"}
    table.image(0)
    assert spy.asked[-1] == ("image",)


def test_images_read_from_many_threads_match(snapshots):
    table = open_table(DataRef(str(snapshots["MME"]), "test"))
    one_by_one = [table.image(i).tobytes() for i in range(len(table))]
    order = [i for pair in zip(range(len(table)), range(len(table) - 1, -1, -1)) for i in pair]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda i: (i, table.image(i).tobytes()), order))
    assert all(got == one_by_one[i] for i, got in together)


def arrow_copy(parquet_folder, target, file_format_for=()):
    """The snapshot with each shard rewritten as an Arrow IPC file (stream format, or file format for some)."""
    for path in parquet_folder.rglob("*"):
        rel = path.relative_to(parquet_folder)
        if path.is_dir():
            continue
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix != ".parquet":
            out.write_bytes(path.read_bytes())
            continue
        table = pq.read_table(path)
        out = out.with_suffix(".arrow")
        opener = pa.ipc.new_file if rel.name.startswith(file_format_for) else pa.ipc.new_stream
        with pa.OSFile(str(out), "wb") as sink, opener(sink, table.schema) as writer:
            writer.write_table(table)
    return target


def test_arrow_files_are_memory_mapped_in_place(snapshots, tmp_path, caches):
    ours, theirs = caches
    folder = arrow_copy(snapshots["VQAv2"], tmp_path / "VQAv2-arrow", file_format_for=("validation-00001",))
    for split in ("validation", "test"):
        table = open_table(DataRef(str(folder), split))
        assert table.provenance["reader"] == data.READ_ARROW
        assert files_under(ours) == [] and files_under(theirs) == []
        want = reference(folder, None, split, tmp_path / "reference-cache")
        assert list(table.rows(table.columns)) == [want[i] for i in range(want.num_rows)]
        assert [table.row(i, ["question_id", "answers"]) for i in range(len(table))] == \
            [{"question_id": r["question_id"], "answers": r["answers"]} for r in want]
        raw = want[len(table) - 1]["image"]["bytes"]
        assert table.image(len(table) - 1).tobytes() == Image.open(io.BytesIO(raw)).convert("RGB").tobytes()


def test_a_layout_left_to_datasets_is_cached_in_our_folder_and_quiet(tmp_path, caches, capfd):
    ours, theirs = caches
    folder = tmp_path / "jsonl"
    (folder / "data").mkdir(parents=True)
    lines = [f'{{"question_id": {i}, "question": "Q{i}?"}}' for i in range(5)]
    (folder / "data" / "test-00000-of-00001.jsonl").write_text("\n".join(lines) + "\n")
    was_disabled = datasets.utils.are_progress_bars_disabled()
    table = open_table(DataRef(str(folder), "test"))
    assert table.provenance["reader"] == data.READ_CONVERTED and table.provenance["layout"] == "data files"
    assert [r["question"] for r in table.rows(["question"])] == [f"Q{i}?" for i in range(5)]
    assert files_under(ours / "datasets") and files_under(theirs) == []
    err = capfd.readouterr().err
    assert "Generating" not in err and "%|" not in err, err
    assert datasets.utils.are_progress_bars_disabled() == was_disabled


def test_files_that_datasets_would_cast_are_left_to_it(snapshots, tmp_path, caches):
    """A card declaring other types than the files hold: `datasets` casts, so it reads them."""
    folder = Path(shutil.copytree(snapshots["OK-VQA"], tmp_path / "OK-VQA"))
    text = (folder / "README.md").read_text()
    header = yaml.safe_load(text.split("---\n")[1])
    header["dataset_info"]["features"][0] = {"name": "question_id", "dtype": "large_string"}
    (folder / "README.md").write_text(f"---\n{yaml.safe_dump(header, sort_keys=False)}---\n")
    table = open_table(DataRef(str(folder), "val2014"))
    assert table.provenance["reader"] == data.READ_CONVERTED
    want = reference(folder, None, "val2014", tmp_path / "reference-cache")
    assert list(table.rows(table.columns)) == [want[i] for i in range(want.num_rows)]


def test_unknown_split_or_config_is_one_line_before_any_conversion(snapshots, caches):
    ours, theirs = caches
    with pytest.raises(UsageError, match=r"no split 'train'; it has validation, testdev, test"):
        open_table(DataRef(str(snapshots["VQAv2"]), "train"))
    with pytest.raises(UsageError, match=r"no config 'Half'; it has default, Full"):
        open_table(DataRef(str(snapshots["POPE"]), "test", "Half"))
    with pytest.raises(UsageError, match=r"no config 'other'; it has default"):
        open_table(DataRef(str(snapshots["VizWiz-VQA"]), "val", "other"))
    assert files_under(ours) == [] and files_under(theirs) == []


def test_the_cache_folder_is_named_once(monkeypatch, tmp_path):
    monkeypatch.delenv("DDIT_EVAL_CACHE", raising=False)
    assert cache_root() == Path.home() / ".cache" / "ddit-eval"
    monkeypatch.setenv("DDIT_EVAL_CACHE", str(tmp_path / "elsewhere"))
    assert cache_root() == tmp_path / "elsewhere" and datasets_cache() == tmp_path / "elsewhere" / "datasets"


def test_hub_loads_cache_in_our_folder_with_bars_silent(monkeypatch, caches):
    """A hub id: `datasets.load_dataset` gets cache_dir=<cache>/datasets; both libraries' bars are off meanwhile."""
    import huggingface_hub.utils as hub_utils

    ours, _ = caches
    seen = {}

    def fake_load(path, name=None, split=None, revision=None, **kwargs):
        seen.update(kwargs, datasets_bars_off=datasets.utils.are_progress_bars_disabled(),
                    hub_bars_off=hub_utils.are_progress_bars_disabled())
        return datasets.Dataset.from_dict({"question_id": [1, 2], "question": ["a?", "b?"]})

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    was = (datasets.utils.are_progress_bars_disabled(), hub_utils.are_progress_bars_disabled())
    table = open_table(DataRef("lmms-lab/VQAv2", "validation"))
    assert seen["cache_dir"] == str(ours / "datasets") == os.fspath(datasets_cache())
    assert seen["datasets_bars_off"] and seen["hub_bars_off"]
    assert (datasets.utils.are_progress_bars_disabled(), hub_utils.are_progress_bars_disabled()) == was
    assert table.provenance["reader"] == data.READ_CONVERTED and table.column("question") == ["a?", "b?"]


def test_a_damaged_shard_is_one_line(snapshots, tmp_path):
    folder = Path(shutil.copytree(snapshots["MME"], tmp_path / "MME"))
    shard = sorted((folder / "data").glob("test-*.parquet"))[1]
    shard.write_bytes(b"not parquet at all")
    with pytest.raises(UsageError, match=r"^cannot load test of dataset .*MME'"):
        open_table(DataRef(str(folder), "test"))


GLOBS = ["**", "*", "data/*", "data/**", "**/*.parquet", "data/test-*", "*/test-*", "data/[tv]*", "data/[!t]*",
         "**/test-*", ".hidden/*", "__special__/*", "nested/**/x?.parquet", "data/validation-0000[0-9]-of-*.parquet",
         "README.md", "Full/random-00000-of-00001.parquet"]


def test_globs_match_what_datasets_resolves(tmp_path):
    """Our glob reading against `datasets`' own (fsspec's), hidden and special folders included."""
    from datasets.data_files import resolve_pattern

    from ddit_eval.local_layout import _listing, _match

    for rel in ("data/test-00000-of-00002.parquet", "data/test-00001-of-00002.parquet", "data/validation-00000-of-00001.parquet",
                "data/.hidden.parquet", "data/sub/test-x.parquet", ".hidden/a.parquet", "__special__/b.parquet",
                "nested/x1.parquet", "nested/a/b/x2.parquet", "Full/random-00000-of-00001.parquet", "README.md", "top.parquet"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    listing = _listing(tmp_path)
    for pattern in GLOBS:
        try:
            theirs = [str(Path(p).relative_to(tmp_path).as_posix()) for p in resolve_pattern(pattern, str(tmp_path))]
        except FileNotFoundError:
            theirs = []
        assert _match(listing, [pattern]) == theirs, pattern
