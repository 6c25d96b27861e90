"""Random page corruption (issue 16, defect 12): the bot refuses a damaged file at
start with a message naming it and how to recover, or the file passes SQLite's
integrity_check; it never answers normally from a file that fails it. Bounded here;
`-m slow` runs ten times as many."""

from __future__ import annotations

import asyncio
import random
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.storage import StorageError
from tests.core.helpers import ConsoleBot, console_bot
from tests.faults.helpers import remove_database

REPO = Path(__file__).resolve().parents[2]
PAGE = 4096
QUESTIONS = ("/klout @u1", "/klout @u7", "/leaderboard", "/klout")
FAST_TRIES = 40


def integrity_ok(db: Path) -> bool:
    try:
        conn = sqlite3.connect(db)
        try:
            return [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()] == ["ok"]
        finally:
            conn.close()
    except (sqlite3.DatabaseError, UnicodeDecodeError):
        return False


async def _build(db: Path) -> None:
    async with console_bot(db) as bot:
        for i in range(30):
            await bot.say(f"post hi @u{(i * 7) % 30}", as_=f"u{i}")
            await bot.say(f"reply #{i // 2 + 1} yo", as_=f"u{(i * 3) % 30}")
            await bot.say(f"react #{i // 3 + 1}", as_=f"u{(i * 5) % 30}")
        await bot.say("/rescore")


async def _answers(bot: ConsoleBot) -> list[str]:
    return [await bot.say(q, as_="u1") for q in QUESTIONS]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str]]]:
    db = tmp_path_factory.mktemp("pristine") / "base.db"

    async def build() -> list[str]:
        await _build(db)
        async with console_bot(db) as bot:
            return await _answers(bot)
    answers = asyncio.run(build())
    yield db, answers


def corrupt(source: Path, target: Path, rng: random.Random) -> str:
    """A copy of `source` with one random page damaged: wholly, a few bytes, or a bit."""
    shutil.copyfile(source, target)
    data = bytearray(target.read_bytes())
    page = rng.randrange(len(data) // PAGE)
    start = page * PAGE
    how = rng.choice(["page", "bytes", "bit"])
    if how == "page":
        data[start:start + PAGE] = rng.randbytes(PAGE)
    elif how == "bytes":
        at = start + rng.randrange(PAGE - 16)
        data[at:at + 16] = rng.randbytes(16)
    else:
        data[start + rng.randrange(PAGE)] ^= 1 << rng.randrange(8)
    target.write_bytes(bytes(data))
    return f"{how} on page {page + 1}"


async def _try(pristine: tuple[Path, list[str]], tmp_path: Path, tries: int,
               seed: int) -> dict[str, int]:
    base, expected = pristine
    rng = random.Random(seed)
    seen = {"refused": 0, "same answers": 0, "other answers": 0}
    for n in range(tries):
        db = tmp_path / f"c{n}.db"
        how = corrupt(base, db, rng)
        healthy = integrity_ok(db)
        try:
            async with console_bot(db) as bot:
                answers = await _answers(bot)
        except StorageError as exc:
            assert not healthy, f"{how}: refused a file that passes integrity_check"
            assert exc.reason == "corrupt", (how, exc.reason, str(exc))
            assert str(db) in str(exc) and ".recover" in str(exc) and "backup" in str(exc)
            seen["refused"] += 1
            continue
        # It started: then the file must be sound, whatever a bit flip did to a value.
        assert healthy, f"{how}: answered from a file that fails integrity_check"
        assert not any("Traceback" in a for a in answers)
        seen["same answers" if answers == expected else "other answers"] += 1
        remove_database(db)
    print(f"page corruption: {tries} tries, {seen}")  # the figure for the report
    return seen


async def test_random_page_corruption_is_refused_or_harmless(
        pristine: tuple[Path, list[str]], tmp_path: Path) -> None:
    seen = await _try(pristine, tmp_path, FAST_TRIES, seed=16)
    assert seen["refused"] > 0


@pytest.mark.slow
async def test_random_page_corruption_many(pristine: tuple[Path, list[str]],
                                           tmp_path: Path) -> None:
    await _try(pristine, tmp_path, 10 * FAST_TRIES, seed=1612)


async def test_the_console_refuses_a_damaged_file_and_exits_non_zero(
        pristine: tuple[Path, list[str]], tmp_path: Path) -> None:
    db = tmp_path / "bad.db"
    shutil.copyfile(pristine[0], db)
    data = bytearray(db.read_bytes())
    data[2 * PAGE:3 * PAGE] = random.Random(3).randbytes(PAGE)  # a b-tree page, wrecked
    db.write_bytes(bytes(data))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "console", "--db", str(db), cwd=REPO,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(b"/klout\n"), timeout=60)
    assert proc.returncode == 1
    message = err.decode()
    assert str(db) in message and "damaged" in message and ".recover" in message
    assert "Traceback" not in message + out.decode()
