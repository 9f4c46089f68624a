"""Which files of a local hub snapshot or data-file folder hold one config and split, found as `datasets` finds them.

Reading those files in place (`parquet_table.py`) needs the same answer `datasets.load_dataset(folder,
name=config, split=split)` would reach, file order included.  Two layouts are answered here:
- a README whose YAML header has `configs:` (each config's `data_files`: a glob, a list of globs, or
  `split`/`path` entries), as the hub's own cards have;
- no `configs:` and shards named `data/<split>-NNNNN-of-NNNNN*.<ext>` (the first rule `datasets` tries).
Every matched file must be `.parquet` (or every one `.arrow`).  Anything else (a loading script, JSON or
CSV, keyword-named files, `data_dir`, builder options in the card) raises `NotInPlace`, and the caller
lets `datasets` decide, so an unusual folder still loads as it did.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Optional

from .errors import UsageError

# files `datasets` never takes as data, and file kinds we read ourselves
_NOT_DATA = {"README.md", "config.json", "dataset_info.json", "dataset_infos.json", "dummy_data.zip", "dataset_dict.json"}
_KINDS = {".parquet": "parquet", ".arrow": "arrow"}
_SHARD_DIGITS = "[0-9]" * 5
SHARDED = f"data/{{split}}-{_SHARD_DIGITS}-of-{_SHARD_DIGITS}*.*"
_SPLIT_NAME = re.compile(r"^\w+(\.\w+)*$")
_CONFIG_KEYS = {"config_name", "data_files", "default"}  # a card config with other keys is datasets' to read


class NotInPlace(Exception):
    """This folder's layout is not one we resolve: `datasets` reads it (the message says why)."""


@dataclass(frozen=True)
class LocalFiles:
    """One split's files in reading order, their kind, and the card header (features, configs) they came with."""

    kind: str
    files: tuple[Path, ...]
    config: str
    card: dict = field(default_factory=dict)


def resolve_files(folder: Path, config: Optional[str], split: str) -> LocalFiles:
    """The files `datasets` would read for `config`/`split`; `NotInPlace` where we cannot be sure."""
    if any((folder / extra).exists() for extra in (".huggingface.yaml", "dataset_infos.json", folder.name + ".py")):
        raise NotInPlace("a loading script or extra metadata file")
    card = read_card(folder / "README.md")
    listing = _listing(folder)
    if card.get("configs"):
        name, splits, first = _from_card(card["configs"], config, split, folder)
    else:
        name, splits = _from_shard_names(listing, config, split, card, folder)
        first = splits
    kind = _kind_of([f for patterns in first.values() for f in _match(listing, patterns)])
    if split not in splits:
        raise _refused(folder, config, split, f"no split {split!r}; it has {', '.join(splits)}")
    files = _match(listing, splits[split])
    if not files or _kind_of(files) != kind:
        raise NotInPlace(f"split {split!r} has no {kind} files of its own")
    return LocalFiles(kind, tuple(folder / f for f in files), name, card)


def read_card(readme: Path) -> dict:
    """The YAML header of a dataset card, as huggingface_hub parses it ({} without a card)."""
    if not readme.is_file():
        return {}
    from huggingface_hub import DatasetCard

    try:
        return DatasetCard.load(readme).data.to_dict()
    except Exception as exc:  # a header `datasets` would fail on too: let it say so
        raise NotInPlace(f"unreadable card header: {exc}") from None


def _refused(folder: Path, config: Optional[str], split: str, why: str) -> UsageError:
    """The one line `data._load` would give, said before `datasets` converts anything."""
    return UsageError(f"cannot load {config + '/' if config else ''}{split} of dataset {str(folder)!r}: {why}")


def _from_card(configs: list, config: Optional[str], split: str, folder: Path) -> tuple[str, dict, dict]:
    """The chosen config's {split: patterns}, and the first config's (it decides the file kind in `datasets`)."""
    if not isinstance(configs, list) or not all(isinstance(c, dict) and "config_name" in c for c in configs):
        raise NotInPlace("a `configs:` header of another form")
    by_name = {str(c["config_name"]): c for c in configs}
    if any(set(c) - _CONFIG_KEYS or "data_files" not in c for c in configs):
        raise NotInPlace("a card config with data_dir or builder options")
    name = config if config is not None else _default_config(by_name)
    if name is None:
        raise _refused(folder, None, split, f"it has several configs: name one ({', '.join(by_name)})")
    if name not in by_name:
        raise _refused(folder, name, split, f"no config {name!r}; it has {', '.join(by_name)}")
    return name, _patterns(by_name[name]["data_files"]), _patterns(configs[0]["data_files"])


def _default_config(by_name: dict) -> Optional[str]:
    """The config `datasets` loads without a name: the only one, the one named `default`, or `default: true`."""
    chosen = [n for n, c in by_name.items() if len(by_name) == 1 or n == "default" or c.get("default")]
    if len(chosen) > 1:
        raise NotInPlace("several default configs")
    return chosen[0] if chosen else None


def _patterns(data_files) -> dict[str, list[str]]:
    """{split: [glob, ...]} from a card's `data_files` (a bare glob or list of globs is the train split)."""
    if isinstance(data_files, str):
        return {"train": [data_files]}
    if isinstance(data_files, list) and all(isinstance(p, str) for p in data_files):
        return {"train": list(data_files)}
    if isinstance(data_files, list) and all(isinstance(p, dict) and set(p) == {"split", "path"} for p in data_files):
        out = {}
        for entry in data_files:
            paths = entry["path"] if isinstance(entry["path"], list) else [entry["path"]]
            if str(entry["split"]) in out or not all(isinstance(p, str) for p in paths):
                raise NotInPlace("duplicated split or non-text path in data_files")
            out[str(entry["split"])] = paths
        return out
    raise NotInPlace("data_files of another form")


def _from_shard_names(listing: list[str], config: Optional[str], split: str, card: dict,
                      folder: Path) -> tuple[str, dict]:
    """No `configs:`: splits named by `data/<split>-NNNNN-of-NNNNN*` files, as `datasets` tries first."""
    infos = card.get("dataset_info")
    named = [i.get("config_name", "default") for i in (infos if isinstance(infos, list) else [infos])
             if isinstance(i, dict)]
    if any(n != "default" for n in named):
        raise NotInPlace("a card naming a config without `configs:`")
    if config not in (None, "default"):
        raise _refused(folder, config, split, f"no config {config!r}; it has default")
    probe = _glob_regex(SHARDED.replace("{split}", "*"))
    shards = [p for p in listing if probe.fullmatch(p) and _visible(p, SHARDED)]
    if not shards:
        raise NotInPlace("no data/<split>-NNNNN-of-NNNNN files")
    found = {re.match(rf"(.+)-{_SHARD_DIGITS}-of-{_SHARD_DIGITS}", PurePosixPath(p).name).group(1) for p in shards}
    if not all(_SPLIT_NAME.match(s) for s in found):
        raise NotInPlace("a split name datasets refuses")
    standard = [s for s in ("train", "validation", "test") if s in found]
    order = standard + sorted(found - set(standard))
    return "default", {s: [SHARDED.format(split=s)] for s in order}


def _listing(folder: Path) -> list[str]:
    """Every file under `folder` (links to files too), as sorted relative POSIX paths."""
    out = []
    for root, _, names in os.walk(folder, followlinks=True):
        base = Path(root).relative_to(folder)
        out += [(base / n).as_posix() for n in names if (Path(root) / n).is_file()]
    return sorted(out)


def _match(listing: list[str], patterns: list[str]) -> list[str]:
    """Each pattern's matches in sorted order, one pattern after the other (how `datasets` orders data files)."""
    out = []
    for pattern in patterns:
        if "://" in pattern or "::" in pattern or PurePosixPath(pattern).is_absolute() or ".." in pattern.split("/"):
            raise NotInPlace(f"a data_files pattern outside the folder: {pattern!r}")
        pattern = pattern.removeprefix("./")
        regex, ignored = _glob_regex(pattern), _NOT_DATA - {PurePosixPath(pattern).name}
        out += [p for p in listing if regex.fullmatch(p) and _visible(p, pattern) and PurePosixPath(p).name not in ignored]
    return out


def _kind_of(files: list[str]) -> str:
    kinds = {_KINDS.get(PurePosixPath(f).suffix.lower()) for f in files}
    if len(kinds) != 1 or None in kinds or any(PurePosixPath(f).name.count(".") != 1 for f in files):
        raise NotInPlace("data files other than .parquet or .arrow (or a mix)")
    return kinds.pop()


def _visible(path: str, pattern: str) -> bool:
    """Hidden (`.x`) and special (`__x`) parts count only where the pattern names as many itself."""
    def hidden(parts):
        return sum(1 for p in parts if p.startswith(".") and set(p) != {"."})

    def special(parts):
        return sum(1 for p in parts if p.startswith("__"))

    path_parts, pattern_parts = PurePosixPath(path).parts, PurePosixPath(pattern).parts
    return (hidden(path_parts) == hidden(pattern_parts)
            and special(path_parts[:-1]) == special(pattern_parts[:-1]))


def _glob_regex(pattern: str) -> re.Pattern:
    """A glob as fsspec reads it: `**/` any directories (or none), `**` anything, `*` and `?` within one name."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2:]:
            end = pattern.index("]", i + 2)  # a `]` right after `[` is a member, as in fnmatch
            body = pattern[i + 1:end].replace("\\", "\\\\")
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))
