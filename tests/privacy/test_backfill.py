"""Opt-out and forget survive backfill, rescoring and restarts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.ingest import Activity
from commands.types import Person
from scoring.kinds import Kind
from tests.core.helpers import T0, ConsoleBot, console_bot
from tests.privacy.helpers import confirm_code, database_text, rows

C = "console"
NAME = "annabelle_quux"  # distinctive, to search the raw database file for


def person(name: str) -> Person:
    return Person(C, name.lower(), name, handle=name.lower())


def history(with_ana: bool = True) -> list[Activity]:
    """Two weeks of a small community, as a backfill would read it again."""
    ana, bo, cy, di = (person(n) for n in (NAME, "bo", "cy", "di"))
    acts: list[Activity] = []
    for day in range(14):
        when = T0 - timedelta(days=day, hours=1)
        src = f"m{day}"
        acts += [Activity(C, "test", bo, Kind.MESSAGE, when, None, "general", src),
                 Activity(C, "test", cy, Kind.REPLY, when, bo, "general", src),
                 Activity(C, "test", di, Kind.REACTION, when, cy, "general", src)]
        if with_ana:
            acts += [Activity(C, "test", ana, Kind.MESSAGE, when, None, "general", f"a{day}"),
                     Activity(C, "test", bo, Kind.REPLY, when, ana, "general", f"a{day}"),
                     Activity(C, "test", ana, Kind.REACTION, when, bo, "general", src),
                     Activity(C, "test", ana, Kind.MENTION, when, di, "general", f"a{day}")]
    return acts


async def ingest_and_rescore(bot: ConsoleBot, acts: list[Activity]) -> dict[str, int]:
    await bot.app.ingestor.record(acts)
    await bot.app.rescore_community(C, "test")
    return {str(r[0]): int(r[1]) for r in rows(
        Path(bot.app.db_path), "SELECT a.external_id, s.score FROM scores s "
        "JOIN accounts a ON a.id = s.account_id")}


async def test_backfill_after_forget_imports_nothing_and_scores_match(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "clean.db") as bot:
        never_there = await ingest_and_rescore(bot, history(with_ana=False))
    db = tmp_path / "b.db"
    async with console_bot(db) as bot:
        await ingest_and_rescore(bot, history())
        assert NAME.encode() in database_text(db)
        code = confirm_code(await bot.say("/privacy forget", as_=NAME))
        await bot.say(f"/privacy forget confirm {code}", as_=NAME)
        # Deleted rows are zeroed, not just unlinked, and the WAL holds no old copies.
        assert NAME.encode() not in database_text(db)
        # Backfill reads the same history again, awaiting and fire-and-forget alike.
        after = await ingest_and_rescore(bot, history())
        bot.app.ingestor.submit(history())
        await bot.app.writer.flush()
        assert after == never_there
    async with console_bot(db) as bot:  # a restart
        await ingest_and_rescore(bot, history())
        await bot.say("/rescore")
        assert "don't know anyone called" in await bot.say(f"/klout @{NAME}", as_="bo")
    assert rows(db, "SELECT count(*) FROM accounts WHERE external_id = ?",
                (NAME,)) == [(0,)]
    assert NAME.encode() not in database_text(db)


async def test_opt_out_survives_backfill_rescore_and_restart(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    async with console_bot(db) as bot:
        await ingest_and_rescore(bot, history())
        stored = rows(db, "SELECT count(*) FROM events")[0][0]
        await bot.say("/privacy optout", as_=NAME)
        await ingest_and_rescore(bot, history())  # replays are deduplicated anyway ...
        fresh = [Activity(C, "test", person("bo"), Kind.REPLY, T0, person(NAME), "g", "new"),
                 Activity(C, "test", person(NAME), Kind.MESSAGE, T0, None, "g", "new2")]
        await ingest_and_rescore(bot, fresh)  # ... and new events about them are dropped
        assert rows(db, "SELECT count(*) FROM events")[0][0] == stored
    async with console_bot(db) as bot:
        await bot.app.rescore_community(C, "test")
        board = await bot.say("/leaderboard alltime", as_="bo")
        assert NAME not in board
        assert "opted out" in await bot.say(f"/klout @{NAME}", as_="bo")
        await ingest_and_rescore(bot, fresh)
        assert rows(db, "SELECT count(*) FROM events")[0][0] == stored
