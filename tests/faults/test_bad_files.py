"""Database files the bot must not start on (issue 16, defect 12): a 0-byte file is
refused instead of silently becoming an empty database, and a read-only one stops the
console at start with a clear message and a non-zero exit, instead of failing every
command and exiting 0."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest

from bot.storage import Storage, StorageError
from tests.core.helpers import console_bot
from tests.faults.helpers import remount_read_only, run_quietly, tmpfs

REPO = Path(__file__).resolve().parents[2]


async def _console(db: Path, stdin: bytes) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "console", "--db", str(db), "--as", "ana", cwd=REPO,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(stdin), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_an_empty_file_is_refused_not_started_over(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    db.write_bytes(b"")
    with pytest.raises(StorageError) as err:
        async with Storage(db):
            pass
    assert err.value.reason == "empty"
    assert str(db) in str(err.value) and "backup" in str(err.value)
    assert db.stat().st_size == 0, "nothing was written to it"
    code, out, message = await _console(db, b"post hi\n")
    assert code == 1 and "empty file" in message and "Traceback" not in out + message
    # A path that does not exist yet is a new database, as always.
    async with console_bot(tmp_path / "new.db") as bot:
        assert (await bot.say("post hi")).startswith("posted #1")


async def test_a_read_only_database_stops_the_console_at_start(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "8m") as folder:
        db = folder / "k.db"
        async with console_bot(db) as bot:
            assert (await bot.say("post hi")).startswith("posted #1")
        remount_read_only(folder)
        with pytest.raises(StorageError) as err:
            async with Storage(db):
                pass
        assert err.value.reason == "readonly" and str(db) in str(err.value)
        code, out, message = await _console(db, b"post hi\n/klout\n")
        assert code != 0
        assert str(db) in message and "read-only" in message
        assert "Traceback" not in out + message


async def test_an_immutable_database_file_is_refused_at_start(tmp_path: Path) -> None:
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("needs chattr(1) to make a file immutable")
    db = tmp_path / "i.db"
    async with console_bot(db) as bot:
        await bot.say("post hi")
    if run_quietly(chattr, "+i", str(db)).returncode != 0:
        pytest.skip("this filesystem has no immutable flag")
    try:
        with pytest.raises(StorageError) as err:
            async with Storage(db):
                pass
        assert err.value.reason == "readonly" and str(db) in str(err.value)
    finally:
        run_quietly(chattr, "-i", str(db))
