"""Progress display: a tqdm bar on a terminal, periodic plain log lines otherwise (CI)."""

from __future__ import annotations

import os
import sys
import time

from tqdm import tqdm


class Progress:
    """Counts finished samples of one task and shows rate and ETA."""

    def __init__(self, total: int, desc: str, initial: int = 0, interval_s: float = 10.0, stream=None,
                 bar: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.total, self.desc, self.done = total, desc, initial
        self.interval_s = interval_s
        self._start = self._last = time.monotonic()
        self._initial = initial
        self._bar = None
        if bar and self.stream.isatty():  # ranks other than 0 log lines: several bars on one terminal garble
            # a terminal that reports 0 columns (some CI pseudo-terminals) would make tqdm print nothing
            wide = _columns(self.stream) > 0
            self._bar = tqdm(total=total, initial=initial, desc=desc, unit="sample", file=self.stream,
                             dynamic_ncols=wide, ncols=None if wide else 100, nrows=None if wide else 24)

    def update(self, n: int) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            return
        now = time.monotonic()
        if now - self._last >= self.interval_s or self.done >= self.total:
            self._last = now
            self._log(now)

    def _log(self, now: float) -> None:
        elapsed = max(now - self._start, 1e-9)
        rate = (self.done - self._initial) / elapsed
        left = self.total - self.done
        eta = f"{left / rate:.0f}s" if rate > 0 else "?"
        print(f"[{self.desc}] {self.done}/{self.total} samples, {rate:.2f} samples/s, ETA {eta}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _columns(stream) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 0
