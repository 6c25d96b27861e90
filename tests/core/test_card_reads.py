"""A cold /klout card is built from one run of reads on the event loop's thread: the same
card as through the shared reader, in the order asked for, and a read that would hold
the loop too long goes to the shared reader instead."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.storage import events
from bot.storage.read_runner import WouldWait
from bot.storage.reads import Read, Steps, rows
from commands.types import Person
from tests.core.helpers import T0, console_bot
from tests.privacy.helpers import build_community

WHO = ("ana", "bo", "cy", "ev", "nobody")


def _person(name: str) -> Person:
    return Person("console", name, None)


def _slow(limit: int) -> Read[int]:
    """A read that walks `limit` rows: far past a small budget."""
    return rows("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                "WHERE i < ?) SELECT count(*) FROM n", (limit,), lambda found: found[0][0])


async def test_cards_built_on_the_loop_equal_cards_read_through_the_shared_reader(
        tmp_path: Path) -> None:
    async with console_bot(tmp_path / "c.db") as bot:
        await build_community(bot)
        # An account the community never scored.
        await bot.app.store.accounts.upsert_many([("console", "ev", "Ev", None, False,
                                                   None, None)])
        await bot.say("/privacy optout", as_="cy")
        runner, influence = bot.app.store.reads, bot.app.influence
        # The opt-out changed who is shown: the first card counts the board again, a
        # read known to be slow, which always goes to the shared reader.
        await influence.card("console", "test", _person("ana"), T0)
        shared = runner.shared_reads
        on_loop = [await influence.card("console", "test", _person(w), T0) for w in WHO]
        assert runner.shared_reads == shared  # not one trip to the reader's thread
        runner.budget_s = 0
        loop_reads = runner.loop_reads
        through_reader = [await influence.card("console", "test", _person(w), T0)
                          for w in WHO]
        assert runner.loop_reads == loop_reads and runner.shared_reads > shared
        assert on_loop == through_reader
        assert [c.status for c in on_loop] == [
            "scored", "scored", "opted_out", "unscored", "unscored"]
        assert on_loop[0].top_contributors and on_loop[0].members == 3
        assert on_loop[0].rank is not None and on_loop[0].trend


async def test_concurrent_cold_cards_come_back_in_the_order_asked(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "f.db") as bot:
        await build_community(bot, fans=("bo", "cy", "di", "ed", "fy", "gu"))
        cards = bot.app.cards
        people = [_person(w) for w in ("ana", "bo", "cy", "di", "ed", "fy", "gu")] * 3
        done: list[int] = []

        async def ask(i: int, person: Person) -> None:
            await cards.card("console", "test", person, T0)
            done.append(i)

        cards.clear()
        misses = cards.misses
        await asyncio.gather(*(ask(i, p) for i, p in enumerate(people)))
        assert cards.misses - misses == 7  # the first seven were built, the rest cached
        assert done == list(range(len(people)))


async def test_a_read_over_budget_is_interrupted_and_read_elsewhere(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "b.db") as bot:
        runner = bot.app.store.reads
        with pytest.raises(WouldWait):
            runner.now(_slow(5_000_000), budget_s=0.001)
        assert runner.now(_slow(10)) == 10  # the connection is fine afterwards

        def steps() -> Steps[tuple[int, int, int]]:
            first: int = yield _slow(3)
            slow: int = yield _slow(2_000_000)
            last: int = yield _slow(4)
            return first, slow, last

        runner.budget_s = 0.002
        loop_reads, shared = runner.loop_reads, runner.shared_reads
        assert await runner.run(steps()) == (3, 2_000_000, 4)
        # The request used up its loop time: the slow read and what follows went over.
        assert (runner.loop_reads, runner.shared_reads) == (loop_reads + 1, shared + 2)


async def test_the_loop_connection_is_not_used_from_another_thread(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "t.db") as bot:
        runner = bot.app.store.reads
        assert runner.now(_slow(5)) == 5
        with pytest.raises(WouldWait):
            await asyncio.to_thread(runner.now, _slow(5))


async def test_a_members_incoming_actions_are_read_from_their_own_index(
        tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    async with console_bot(db):
        [(sql, params)] = events.incoming(1, 2, 0).statements
        conn = sqlite3.connect(db)
        try:
            plan = " ".join(str(r[3]) for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}",
                                                            params))
        finally:
            conn.close()
    assert "events_target" in plan, plan


async def test_a_burst_after_start_counts_the_board_once(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "s.db") as bot:
        await build_community(bot, fans=("bo", "cy", "di", "ed"))
        influence, cards = bot.app.influence, bot.app.cards
        influence._visible.clear()  # as after a start: the board was never counted
        cards.clear()
        statements: list[str] = []
        await bot.app.store.db.reader.set_trace_callback(statements.append)
        people = [_person(w) for w in ("ana", "bo", "cy", "di", "ed")]
        done: list[int] = []

        async def ask(i: int, person: Person) -> int | None:
            card = await cards.card("console", "test", person, T0)
            done.append(i)
            return card.members

        members = await asyncio.gather(*(ask(i, p) for i, p in enumerate(people)))
        await bot.app.store.db.reader.set_trace_callback(None)
        counts = [s for s in statements if s.startswith("SELECT count(*) FROM scores")]
        assert len(counts) == 1, statements
        assert members == [5] * 5 and done == [0, 1, 2, 3, 4]
        assert not influence._counting
