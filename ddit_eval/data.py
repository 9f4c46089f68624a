"""Benchmark data from the Hugging Face hub or a local copy, opened lazily and, where local, read in place.

A `Table` is one split of one config.  Its rows are read column by column from the
local parquet files themselves (`parquet_table.py`) or from memory-mapped Arrow, and
images stay encoded bytes until `image(row)` decodes one, so building 214K samples
holds no pixels and little memory, and a local copy is never copied again.

Where the data came from is recorded exactly: for the hub, the resolved commit
hash (never just "main"); for a local folder, a content fingerprint.  Local
folders come in the forms researchers hold:
- what `huggingface-cli download <id> --repo-type dataset --local-dir DIR` writes
  (parquet under the repo's paths, README with its `configs:` header);
- a `datasets` `save_to_disk` folder (a DatasetDict, or one folder per config).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from PIL import Image

from .cache_folder import datasets_cache
from .environment import is_local_path, offline, require_hub
from .errors import UsageError
from .local_layout import NotInPlace, resolve_files
from .provenance import file_sha256
from .quiet_progress import quiet_library_bars
from .row_sources import DatasetRows, RowSource

_SHA = re.compile(r"^[0-9a-f]{40}$")
_FULL_HASH_BYTES = 8 << 20  # files up to this size are hashed whole; larger ones by size + head + tail
_EDGE_BYTES = 1 << 20


@dataclass(frozen=True)
class DataRef:
    """Which data a task reads: `dataset` is a hub id or a local folder."""

    dataset: str
    split: str
    config: Optional[str] = None
    revision: Optional[str] = None


def is_local(dataset: str) -> bool:
    """Paths start with / . ~ or exist; hub ids are `owner/name` (the same answer as for --model)."""
    return is_local_path(dataset)


def check_dataset(value: Any) -> None:
    """A `dataset` setting (a task's setting check): an existing local folder or a hub id (`owner/name`)."""
    if not isinstance(value, str) or not value:
        raise ValueError("expected a hub id (owner/name) or a local folder")
    if is_local(value) and not Path(value).expanduser().is_dir():
        raise ValueError("no such folder (give a hub id like lmms-lab/VQAv2 or an existing local copy)")


check_dataset.describes = "a hub id (owner/name) or an existing local folder"  # shown by `describe TASK`


def check_revision(dataset: str, revision: Optional[str]) -> None:
    """A revision names a hub commit, branch or tag: with a local folder it would be recorded yet ignored."""
    if revision is not None and is_local(dataset):
        raise ValueError(f"revision {revision!r} applies to hub ids only; dataset {dataset!r} is a local folder "
                         "(its content fingerprint is recorded instead): drop the revision")


# ----------------------------------------------------------------------------- provenance


def resolve_revision(repo_id: str, revision: Optional[str]) -> Optional[str]:
    """The commit hash a hub revision points at: asked of the hub, else read from the local hub cache.

    Online with the hub out of reach is one line at once: `datasets` would retry for half a minute."""
    ref = revision or "main"
    if not offline():
        try:
            from huggingface_hub import HfApi

            return HfApi().dataset_info(repo_id, revision=ref).sha
        except Exception:  # no such repo or no access (load_dataset says which), or no network at all
            require_hub(f"dataset {repo_id!r}")
    if _SHA.match(ref):
        return ref
    return _cached_revision(repo_id, ref)


def _cached_revision(repo_id: str, ref: str) -> Optional[str]:
    from huggingface_hub import constants

    path = Path(constants.HF_HUB_CACHE) / f"datasets--{repo_id.replace('/', '--')}" / "refs" / ref
    try:
        sha = path.read_text().strip()
    except OSError:
        return None
    return sha if _SHA.match(sha) else None


def folder_fingerprint(folder: Path) -> str:
    """sha256 over every data file's relative path, size and content.

    Files above 8 MiB contribute their size, first and last MiB (hashing a 20 GB
    image split whole would take minutes); the method is recorded beside the value.
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not _hidden(p.relative_to(folder))):
        size = path.stat().st_size
        digest.update(f"{path.relative_to(folder).as_posix()}\0{size}\0".encode())
        with open(path, "rb") as f:
            if size <= _FULL_HASH_BYTES:
                digest.update(f.read())
            else:
                digest.update(f.read(_EDGE_BYTES))
                f.seek(size - _EDGE_BYTES)
                digest.update(f.read())
    return digest.hexdigest()


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


# ----------------------------------------------------------------------------- tables

READ_PARQUET = "parquet in place (pyarrow)"
READ_ARROW = "arrow in place (pyarrow, memory-mapped)"
READ_FROM_DISK = "datasets.load_from_disk (memory-mapped)"
READ_CONVERTED = "datasets.load_dataset (Arrow copy in the ddit-eval cache)"


class Table:
    """One split: lazy rows, images decoded one at a time, and where it came from (and which reader read it)."""

    def __init__(self, source: RowSource, provenance: dict) -> None:
        self.source = source
        self.provenance = {**provenance, "rows": len(source)}

    def __len__(self) -> int:
        return len(self.source)

    @property
    def columns(self) -> list[str]:
        return list(self.source.column_names)

    def require(self, columns: Sequence[str]) -> None:
        """Fail in one line when the data lacks a column the task reads (a wrong dataset or config)."""
        missing = [c for c in columns if c not in self.source.column_names]
        if missing:
            raise UsageError(f"dataset {self.provenance['id']!r} ({self.provenance.get('config') or 'default'}/"
                             f"{self.provenance['split']}) has no column {missing[0]!r}; it has {', '.join(self.columns)}")

    def rows(self, columns: Sequence[str]) -> Iterator[dict]:
        """Every row's `columns` in order, read a batch at a time (no image is decoded)."""
        return self.source.iter_rows(list(columns))

    def row(self, index: int, columns: Sequence[str]) -> dict:
        """Row `index`'s `columns` only (no image decoded): what a sample reads when its record is written."""
        return self.source.row(int(index), tuple(columns))

    def column(self, name: str) -> list:
        return self.source.column(name)

    def image(self, index: int, column: str = "image") -> Image.Image:
        """Row `index`'s image, decoded to RGB now (PIL opens lazily; we want the work done here)."""
        value = self.source.row(int(index), (column,))[column]
        if value is None:
            raise ValueError(f"row {index} has no image")
        if isinstance(value, dict) and value.get("bytes"):
            image = Image.open(io.BytesIO(value["bytes"]))
        else:
            path = value["path"] if isinstance(value, dict) else value
            image = Image.open(path)
        return image.convert("RGB")


def open_table(ref: DataRef) -> Table:
    """Load one split from a local copy (read in place where we can) or from the hub (at a resolved commit)."""
    try:
        check_dataset(ref.dataset)
        check_revision(ref.dataset, ref.revision)
    except ValueError as exc:
        raise UsageError(f"dataset {ref.dataset!r}: {exc}") from None
    if is_local(ref.dataset):
        folder = Path(ref.dataset).expanduser().resolve()
        source, layout, reader = _open_local(folder, ref)
        provenance = {"id": str(folder), "layout": layout, "fingerprint": folder_fingerprint(folder),
                      "fingerprint_method": "sha256(path, size, content; files > 8 MiB: first + last MiB)"}
    else:
        resolved = resolve_revision(ref.dataset, ref.revision)
        source = DatasetRows(_load("hub", ref.dataset, ref, revision=resolved or ref.revision))
        provenance = {"id": ref.dataset, "layout": "hub", "resolved_revision": resolved}
        reader = READ_CONVERTED
    return Table(source, {**provenance, "config": ref.config, "split": ref.split, "revision": ref.revision,
                          "reader": reader})


def _open_local(folder: Path, ref: DataRef) -> tuple[RowSource, str, str]:
    """A save_to_disk folder (maybe one per config), else a hub snapshot / plain data-file folder.

    Snapshot parquet (or Arrow) is read where it lies; only a layout `local_layout` cannot resolve goes
    through `datasets.load_dataset`, whose Arrow copy then lands in our cache folder."""
    for candidate in ([folder / ref.config] if ref.config else []) + [folder]:
        if (candidate / "dataset_dict.json").is_file() or (candidate / "state.json").is_file():
            return DatasetRows(_load_from_disk(candidate, ref)), "save_to_disk", READ_FROM_DISK
    layout = "hub snapshot" if (folder / "README.md").is_file() else "data files"
    from .parquet_table import open_rows  # pyarrow: not for `list-tasks`

    try:
        local = resolve_files(folder, ref.config, ref.split)
        return open_rows(local), layout, READ_PARQUET if local.kind == "parquet" else READ_ARROW
    except NotInPlace:
        return DatasetRows(_load("local", str(folder), ref)), layout, READ_CONVERTED
    except (ValueError, OSError) as exc:  # a damaged shard (pyarrow's errors are ValueError / OSError)
        raise _cannot_load(ref, str(folder), exc) from None


def _load_from_disk(folder: Path, ref: DataRef):
    """Memory-maps the folder's Arrow files where they are (`datasets` writes nothing for this)."""
    import datasets

    with quiet_library_bars():
        loaded = datasets.load_from_disk(str(folder))
    if isinstance(loaded, datasets.DatasetDict):
        if ref.split not in loaded:
            raise UsageError(f"dataset folder {str(folder)!r} has no split {ref.split!r}; it has {', '.join(loaded)}")
        return loaded[ref.split]
    return loaded


def _load(where: str, path: str, ref: DataRef, revision: Optional[str] = None):
    """`datasets.load_dataset` for one split, cached in our folder, its bars silent; failures are one line."""
    import datasets

    try:
        with quiet_library_bars():
            return datasets.load_dataset(path, name=ref.config, split=ref.split, revision=revision,
                                         cache_dir=str(datasets_cache()))
    except (ValueError, FileNotFoundError, ConnectionError, OSError) as exc:
        hint = " (offline: download it first, or pass a local copy with --set dataset=DIR)" if where == "hub" else ""
        raise _cannot_load(ref, path, exc, hint) from None


def _cannot_load(ref: DataRef, path: str, exc: Exception, hint: str = "") -> UsageError:
    what = f"{ref.config + '/' if ref.config else ''}{ref.split}"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return UsageError(f"cannot load {what} of dataset {path!r}{hint}: {first}")


def read_json(path: str | Path, what: str) -> Any:
    """A JSON file the user pointed at; unreadable is one line."""
    try:
        return json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {what} {str(path)!r}: {exc}") from None


class KarpathySplit:
    """COCO captions as researchers hold them: Karpathy's `dataset_coco.json` plus a COCO images folder.

    `images_dir` is the folder that holds `val2014/` (the split file's `filepath`), or
    that folder itself.  Images are read from disk, never downloaded.
    """

    def __init__(self, split_file: str, images_dir: str, split: str) -> None:
        data = read_json(split_file, "Karpathy split file")
        try:
            self.entries = [e for e in data["images"] if e["split"] == split]
        except (KeyError, TypeError):
            raise UsageError(f"{split_file!r} is not a Karpathy split file (images[].split)") from None
        if not self.entries:
            raise UsageError(f"Karpathy split file {split_file!r} has no image in split {split!r}")
        self.images_dir = Path(images_dir).expanduser()
        first = self.entries[0]
        if not self.image_path(first).is_file():
            raise UsageError(f"COCO image {first['filename']!r} is not under {str(self.images_dir)!r} "
                             f"(give the folder that holds {first.get('filepath', 'val2014')}/)")
        self.provenance = {"id": "karpathy", "layout": "Karpathy split file + COCO images folder",
                           "split_file": str(Path(split_file).expanduser().resolve()),
                           "fingerprint": file_sha256(split_file),
                           "fingerprint_method": "sha256 of the split file", "images_dir": str(self.images_dir.resolve()),
                           "split": split, "rows": len(self.entries)}

    def image_path(self, entry: dict) -> Path:
        nested = self.images_dir / entry.get("filepath", "") / entry["filename"]
        return nested if nested.is_file() else self.images_dir / entry["filename"]

    def rows(self) -> Iterator[dict]:
        for e in self.entries:
            yield {"cocoid": e["cocoid"], "filename": e["filename"], "answer": [s["raw"] for s in e["sentences"]]}

    def image(self, index: int) -> Image.Image:
        return Image.open(self.image_path(self.entries[index])).convert("RGB")
