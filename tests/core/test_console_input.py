"""The console's stdin in bounded memory: a line longer than any command is answered
"too long" and skipped up to its newline without ever being held whole, and reading
goes on with the next line. Through a real pipe (the event loop waits on it) and a
file-like stream (a worker thread reads it)."""

from __future__ import annotations

import asyncio
import io
import tracemalloc
from pathlib import Path

import pytest

from bot.adapters.console import ConsoleAdapter
from bot.adapters.line_input import LineSplitter
from tests.core.helpers import console_bot

REPO = Path(__file__).resolve().parents[2]
TOO_LONG = "too long for a command"
MB = 1 << 20


class HugeLine(io.RawIOBase):
    """`size` bytes of one line, then a short one, made up as they are read."""

    def __init__(self, size: int, after: bytes = b"\npost still here\n") -> None:
        self.left = size
        self.after = after

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.left > 0:
            n = min(len(buffer), self.left)
            buffer[:n] = b"x" * n
            self.left -= n
            return n
        n = min(len(buffer), len(self.after))
        buffer[:n], self.after = self.after[:n], self.after[n:]
        return n


def test_splitter_skips_long_lines_across_chunks() -> None:
    lines = LineSplitter(limit=5)
    assert lines.feed(b"ab\ncdefgh") == [b"ab"]
    assert lines.feed(b"ijk") == []
    assert lines.feed(b"lm\n12345\n") == [None, b"12345"]
    assert lines.feed(b"123456") == []
    assert lines.end() == [None]
    assert lines.feed(b"\n\nlast") == [b"", b""]
    assert lines.end() == [b"last"]
    assert lines._partial == bytearray()


async def test_a_20_mb_line_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    stdin = io.TextIOWrapper(io.BufferedReader(HugeLine(20 * MB)), encoding="utf-8",
                             errors="surrogateescape")  # as sys.stdin is
    out = io.StringIO()
    async with console_bot(tmp_path / "c.db") as bot:
        adapter = ConsoleAdapter(bot.app, user="ana", community="test", stdin=stdin,
                                 stdout=out, prompt=False)
        tracemalloc.start()
        try:
            await adapter.run()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    printed = out.getvalue().splitlines()
    assert TOO_LONG in printed[1] and printed[2] == "posted #1", printed
    assert peak < 4 * MB, f"reading peaked at {peak / MB:.1f} MB"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc/PID/status")
async def test_through_a_real_pipe_the_process_stays_small(tmp_path: Path) -> None:
    bot = await asyncio.create_subprocess_exec(
        str(REPO / ".venv" / "bin" / "klout-bot"), "console", "--db", str(tmp_path / "p.db"),
        "--as", "ana", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=REPO)
    assert bot.stdin is not None and bot.stdout is not None
    try:
        await asyncio.wait_for(bot.stdout.readline(), 30)  # the banner: started
        started = _peak_kb(bot.pid)
        block = b"y" * MB
        for _ in range(64):
            bot.stdin.write(block)
            await bot.stdin.drain()
        bot.stdin.write(b"\npost after\n")
        await bot.stdin.drain()
        refused = await asyncio.wait_for(bot.stdout.readline(), 30)
        posted = await asyncio.wait_for(bot.stdout.readline(), 30)
        peak = _peak_kb(bot.pid)
        bot.stdin.close()
        _, err = await asyncio.wait_for(bot.communicate(), 30)
    finally:
        if bot.returncode is None:  # pragma: no cover - only when the test fails
            bot.kill()
            await bot.wait()
    assert TOO_LONG in refused.decode() and posted.decode().strip() == "posted #1"
    assert bot.returncode == 0 and b"Traceback" not in err
    # 64 MB went through; the process grew by far less than that (before: > 64 MB).
    assert peak - started < 16 * 1024, f"grew {(peak - started) / 1024:.0f} MB"


def _peak_kb(pid: int) -> int:
    """The process's peak resident set so far (kB)."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1])

