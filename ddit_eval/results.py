"""Durable result files: append-only per-sample logs and atomically replaced summaries.

A run can be killed at any byte; the sample log then ends in at most one torn
line, which `SampleLog.load` detects and cuts off before new lines are appended.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

from .errors import UsageError

LOCK_NAME = ".lock"
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """Write JSON to a temporary file in the same folder, fsync, then `os.replace`."""
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def write_text_atomic(path: str | Path, text: str | Iterable[str]) -> None:
    """Write a temp file beside `path`, fsync, then rename: readers see the old file or the new, never half.

    `text` may be an iterable of pieces, written one by one (a 214K-line log is never one string).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _file_mode())  # mkstemp makes 0600: others sharing the results could not read them
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines([text] if isinstance(text, str) else text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _file_mode() -> int:
    """0644 minus the umask: what a result file gets; the umask can only be read by setting it."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o644 & ~umask


def read_jsonl(path: str | Path) -> list[dict]:
    """Read a JSONL file written by someone else; a bad line is an error naming its number."""
    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
    return records


def is_number(value: Any) -> bool:
    """A measured number (None: undefined, e.g. a 0/0 ratio; bools are not numbers)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class SampleLog:
    """`samples/<task>.jsonl`: one JSON record per line, appended and fsynced batch by batch."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def load(self) -> list[dict]:
        """Records already written; a torn last line (killed mid-write) is removed from the file.

        Damage anywhere else (a garbage line, a record without an id, an id twice) is a
        ValueError naming the file and line: resuming over it would lose or double samples.
        """
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        records, good_end, start, number = [], 0, 0, 0
        first_line: dict[str, int] = {}
        while start < len(data):
            end = data.find(b"\n", start)
            if end == -1:
                break  # no newline: the last write was cut off
            number += 1
            line = data[start:end]
            if line.strip():
                try:
                    record = json.loads(line)
                except ValueError:  # not JSON, or not UTF-8
                    if data[end + 1 :].strip():
                        raise ValueError(f"{self.path}:{number}: corrupt line in the middle of the file "
                                         "(not valid JSON); delete that line to recompute its sample") from None
                    break
                self._check_id(record, number, first_line)
                records.append(record)
            good_end = start = end + 1
        if good_end < len(data):
            with open(self.path, "r+b") as f:
                f.truncate(good_end)
                os.fsync(f.fileno())
        return records

    def _check_id(self, record: Any, number: int, first_line: dict[str, int]) -> None:
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise ValueError(f"{self.path}:{number}: record has no string 'id'")
        if record["id"] in first_line:
            raise ValueError(f"{self.path}:{number}: id {record['id']!r} appears twice "
                             f"(first on line {first_line[record['id']]}); delete one of the lines")
        first_line[record["id"]] = number

    def append(self, records: Iterable[dict]) -> None:
        lines = "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in records)
        if not lines:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(lines)
            f.flush()
            os.fsync(f.fileno())

    def rewrite(self, records: Iterable[dict]) -> None:
        """Replace the whole log at once (used to add final scores)."""
        write_text_atomic(self.path, (json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in records))


class RunLock:
    """An exclusive `flock` on `<run dir>/.lock`, held while a process writes the folder.

    Two processes writing one folder would both compute every sample; the second one
    gets a one-line UsageError instead.  The kernel drops the lock if the holder dies.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / LOCK_NAME
        self._file = None

    def acquire(self) -> "RunLock":
        import fcntl

        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            who = f" (process {holder})" if holder else ""
            raise UsageError(f"{str(self.path.parent)!r} is in use by another run{who}; "
                             "wait for it to finish or use another --output-dir") from None
        if not self._names_the_file(handle):  # removed (a failed start's clean-up) between open and flock
            handle.close()
            raise UsageError(f"{str(self.path.parent)!r} was removed or replaced while this run started; "
                             "start it again") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return self

    def _names_the_file(self, handle) -> bool:
        """Whether the lock path still names the file we locked: a lock on an unlinked file guards nothing."""
        try:
            here, there = os.fstat(handle.fileno()), os.stat(self.path)
        except FileNotFoundError:
            return False
        return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the flock
            self._file = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
