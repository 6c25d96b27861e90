"""kill -9 while the bot writes (issue 16 fault suite): after a restart the file passes
integrity_check, everything the bot reported stored is there, and nothing is there
twice. Bounded here; `-m slow` kills more often."""

from __future__ import annotations

import asyncio
import random
import re
import signal
import sqlite3
import sys
from collections import Counter
from pathlib import Path

import pytest

from bot.config import ConsoleSection
from tests.core.helpers import console_bot
from tests.faults.test_corruption import integrity_ok
from tests.privacy.helpers import rows

REPO = Path(__file__).resolve().parents[2]
POSTED = re.compile(rb"posted #(\d+)")


async def _kill_after(proc: asyncio.subprocess.Process, seconds: float,
                      needle: bytes) -> list[bytes]:
    """Read the child's lines for `seconds` after its first `needle`, then SIGKILL it."""
    assert proc.stdout is not None
    lines: list[bytes] = []
    loop = asyncio.get_running_loop()
    deadline = None
    while True:
        timeout = 60.0 if deadline is None else max(0.0, deadline - loop.time())
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), timeout)
        except TimeoutError:
            break
        if not line:
            break
        lines.append(line)
        if deadline is None and needle in line:
            deadline = loop.time() + seconds
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the child ended before the kill"
    return lines


async def _writer_kills(tmp_path: Path, kills: int, seed: int) -> None:
    db = tmp_path / "kill.db"
    rng = random.Random(seed)
    reported: dict[str, int] = {}
    for k in range(kills):
        prefix = f"k{k}"
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.faults.writer_child", str(db), prefix, cwd=REPO,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        lines = await _kill_after(child, rng.uniform(0.05, 0.8), b"FLUSHED")
        flushed = [int(x.split()[1]) for x in lines if x.startswith(b"FLUSHED")]
        reported[prefix] = max(flushed, default=0)
        assert integrity_ok(db)
    # The restart folds what a kill left in the inbox.
    async with console_bot(db) as bot:
        await bot.app.writer.flush()
    assert integrity_ok(db)
    stored = Counter((str(s), int(kind)) for s, kind in rows(
        db, "SELECT source, kind FROM events WHERE community_id = "
        "(SELECT id FROM communities WHERE platform = 'discord')"))
    assert not [key for key, n in stored.items() if n > 1], "an event stored twice"
    for prefix, last in reported.items():
        for n in range(1, last + 1):
            for kind in (0, 3):
                assert (f"{prefix}-{n}", kind) in stored, f"{prefix}-{n} lost"
    assert rows(db, "SELECT count(*) FROM event_inbox") == [(0,)]
    print(f"sigkill writer: {kills} kills, {sum(reported.values())} messages reported flushed, "
          f"all there once; {len(stored)} events stored")


async def _console_kills(tmp_path: Path, kills: int, seed: int) -> None:
    db = tmp_path / "console.db"
    rng = random.Random(seed)
    told: list[int] = []
    lines = "".join(f"post hi @bo {i}\n" for i in range(3000)).encode()
    for _ in range(kills):
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "console", "--db", str(db), "--as", "ana",
            cwd=REPO, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL)
        assert child.stdin is not None
        child.stdin.write(lines)
        out = await _kill_after(child, rng.uniform(0.05, 0.6), b"posted #")
        told += [int(m) for line in out for m in POSTED.findall(line)]
        assert integrity_ok(db)
    async with console_bot(db, community=ConsoleSection().community) as bot:
        after = await bot.say("post after the kills @bo", as_="ana")
    messages = [int(r[0]) for r in rows(
        db, "SELECT source FROM events WHERE kind = 0 AND channel = 'console'")]
    mentions = Counter(int(r[0]) for r in rows(
        db, "SELECT source FROM events WHERE kind = 2 AND channel = 'console'"))
    assert len(set(messages)) == len(messages), "a post stored twice"
    assert set(told) <= set(messages), "a post told 'posted' is missing"
    # Each post is one transaction: its mention is there with it, exactly once.
    assert all(mentions[m] == 1 for m in messages) and set(mentions) <= set(messages)
    # Numbers run on after the kills: the in-flight post either landed or did not.
    assert sorted(messages) == list(range(1, len(messages) + 1))
    assert after.startswith(f"posted #{len(messages)}")
    print(f"sigkill console: {kills} kills, {len(told)} posts told, "
          f"{len(messages)} stored, none twice")


async def test_sigkill_during_batched_writes(tmp_path: Path) -> None:
    await _writer_kills(tmp_path, kills=3, seed=9)


async def test_sigkill_during_console_posts(tmp_path: Path) -> None:
    await _console_kills(tmp_path, kills=3, seed=9)


@pytest.mark.slow
async def test_sigkill_many(tmp_path: Path) -> None:
    await _writer_kills(tmp_path, kills=25, seed=99)
    await _console_kills(tmp_path, kills=25, seed=99)


def test_kinds_are_what_the_checks_assume() -> None:
    from scoring.kinds import Kind
    assert (int(Kind.MESSAGE), int(Kind.MENTION), int(Kind.REACTION)) == (0, 2, 3)
    assert sqlite3.sqlite_version_info >= (3, 35)
