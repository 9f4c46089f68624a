"""Progress: a tqdm bar (rate, ETA) on a terminal, plain periodic log lines otherwise."""

import io
import os
import pty
import select

from ddit_eval.progress import Progress


def test_not_a_terminal_logs_plain_lines_at_each_interval():
    stream = io.StringIO()
    progress = Progress(10, "toy", stream=stream, interval_s=0)
    for _ in range(5):
        progress.update(2)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert [line.split(" samples")[0] for line in lines] == [f"[toy] {k}/10" for k in (2, 4, 6, 8, 10)]
    assert all("samples/s" in line and "ETA" in line for line in lines) and "\r" not in stream.getvalue()


def test_not_a_terminal_is_quiet_between_intervals_but_logs_the_end():
    stream = io.StringIO()
    progress = Progress(10, "toy", initial=4, stream=stream, interval_s=3600)
    for _ in range(6):
        progress.update(1)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("[toy] 10/10 samples")


def test_terminal_gets_a_bar_even_when_it_reports_zero_columns():
    """A fresh pseudo-terminal reports 0x0, as some CI runners' do; tqdm alone would print nothing there."""
    master, slave = pty.openpty()
    try:
        with os.fdopen(slave, "w", closefd=False) as stream:
            assert os.get_terminal_size(slave).columns == 0
            progress = Progress(10, "toy", stream=stream)
            progress.update(10)
            progress.close()
        text = _drain(master)
    finally:
        os.close(master)
        os.close(slave)
    assert "10/10" in text and "sample/s" in text and "[toy]" not in text


def _drain(fd: int) -> str:
    chunks = []
    while select.select([fd], [], [], 0.2)[0]:
        chunks.append(os.read(fd, 65536))
    return b"".join(chunks).decode(errors="replace")
