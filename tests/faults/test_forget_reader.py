"""Forget while another connection reads the database (issue 16, defect 1).

A reader that holds a snapshot makes SQLite's TRUNCATE checkpoint answer "busy" as a
result row, so the zeroed pages never reach the database file and the WAL keeps the
old ones. The bot may only say "Forgotten" as done when the name is in no file; while
a reader holds it up, the reply says so and the purge finishes when it can."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import Storage
from tests.core.helpers import ConsoleBot, console_bot
from tests.faults.helpers import files_holding, quick_lock_config
from tests.privacy.helpers import confirm_code

NAME = "Zanzibarquux"
DONE_AND_CLEAN = "Forgotten"
PENDING = "old copies of these records are still in its file"


async def _community(bot: ConsoleBot, db: Path) -> None:
    await bot.say("post hello @ana @bo", as_=NAME)
    await bot.say("reply #1 nice", as_="ana")
    await bot.say("react #1", as_="bo")
    await bot.say("/rescore")
    # Everything checkpointed into the .db file, as a long-running bot would have it.
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert files_holding(db, NAME.encode()), "the name should be stored before forget"


async def _forget(bot: ConsoleBot) -> str:
    code = confirm_code(await bot.say("/privacy forget", as_=NAME))
    return await bot.say(f"/privacy forget confirm {code}", as_=NAME)


def _reader(db: Path) -> sqlite3.Connection:
    """Another connection, inside a read transaction: its snapshot predates the forget."""
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN")
    assert conn.execute("SELECT count(*) FROM accounts").fetchone()[0] > 0
    return conn


async def test_a_reader_that_never_lets_go_gets_an_honest_reply(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    async with console_bot(db, config=quick_lock_config()) as bot:
        await _community(bot, db)
        reader = _reader(db)
        try:
            out = await _forget(bot)
            assert out.startswith(DONE_AND_CLEAN)
            left = files_holding(db, NAME.encode())
            # Never both: a reply that claims the job is finished while a file holds the name.
            assert PENDING in out or not left, f"said done, but {left} still hold the name"
            assert PENDING in out and bot.app.store.db.purge_pending
        finally:
            reader.rollback()
            reader.close()
        # The reader is gone: the background purge finishes while the bot runs.
        async with asyncio.timeout(20):
            await bot.app.store.db.purge_finished()
        assert files_holding(db, NAME.encode()) == []
    assert files_holding(db, NAME.encode()) == []


async def test_a_reader_that_lets_go_soon_gets_a_finished_forget(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    async with console_bot(db, config=quick_lock_config()) as bot:
        await _community(bot, db)
        reader = _reader(db)
        # Ends its read a moment later, inside the forget's retries (about 2 s of them).
        release = threading.Timer(0.4, reader.rollback)
        release.start()
        try:
            out = await _forget(bot)
        finally:
            release.join()
            reader.close()
        assert out.startswith(DONE_AND_CLEAN) and PENDING not in out
        assert not bot.app.store.db.purge_pending
        assert files_holding(db, NAME.encode()) == []


READER_PROCESS = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN")
conn.execute("SELECT count(*) FROM accounts").fetchone()
print("reading", flush=True)
sys.stdin.readline()
"""


@contextlib.asynccontextmanager
async def reader_process(db: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """A community in `db`, then another process inside a read transaction on it; killed
    (without a checkpoint of its own) at the end if it is still there."""
    async with console_bot(db, config=quick_lock_config()) as bot:
        await _community(bot, db)
    reader = await asyncio.create_subprocess_exec(
        sys.executable, "-c", READER_PROCESS, str(db), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE)
    try:
        assert reader.stdout is not None
        assert await reader.stdout.readline() == b"reading\n"
        yield reader
    finally:
        if reader.returncode is None:
            reader.kill()
        await reader.communicate()


async def test_a_reader_outliving_the_bot_is_caught_up_at_the_next_start(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "p.db"
    async with reader_process(db):
        caplog.set_level(logging.WARNING, logger="bot.storage.db")
        async with console_bot(db, config=quick_lock_config()) as bot:
            assert PENDING in await _forget(bot)
        # The bot stopped first; the operator was told, naming the file.
        assert any("may stay readable" in r.getMessage() and str(db) in r.getMessage()
                   for r in caplog.records)
    # The reader was killed: it died without a checkpoint of its own.
    assert files_holding(db, NAME.encode()), "the reader's death should leave the WAL"
    async with Storage(db):  # the next start
        pass
    assert files_holding(db, NAME.encode()) == []


async def test_a_reader_still_there_at_the_next_start_is_waited_out(
        tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    async with reader_process(db) as reader:
        async with console_bot(db, config=quick_lock_config()) as bot:
            assert PENDING in await _forget(bot)
        async with console_bot(db, config=quick_lock_config()) as bot:
            assert files_holding(db, NAME.encode()), "the reader still holds the old pages"
            assert reader.stdin is not None
            reader.stdin.write(b"\n")  # the reader ends its read and exits
            await reader.wait()
            async with asyncio.timeout(20):
                await bot.app.store.db.purge_finished()
            assert files_holding(db, NAME.encode()) == []
