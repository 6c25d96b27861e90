"""Quote posts that mention the bot count as QUOTEs on the quoted author."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.clock import FixedClock
from scoring.kinds import Kind
from tests.twitter.helpers import T0, fake_x, x_bot


def _events(db: Path) -> list[tuple[int, str, str]]:
    conn = sqlite3.connect(db)
    try:
        return [(int(k), str(a), str(t)) for k, a, t in conn.execute(
            "SELECT e.kind, actor.external_id, coalesce(target.external_id, '') FROM events e "
            "JOIN accounts actor ON actor.id = e.actor_id "
            "LEFT JOIN accounts target ON target.id = e.target_id ORDER BY e.rowid")]
    finally:
        conn.close()


async def test_quotes_are_ingested_on_the_quoted_author(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        ana = fake.add_user("ana_x")
        bo = fake.add_user("bo_x")
        cy = fake.add_user("cy_x")
        original = fake.post(ana, "a thought")
        async with x_bot(db, fake, clock) as bot:
            await bot.poll()
            quote = fake.post(bo, "@KloutBot is this influential?", quote_of=original)
            own = fake.post(cy, "@KloutBot self-promotion", quote_of=fake.post(cy, "mine"))
            await bot.poll()
            # Quoting the bot's own reply is no action on anyone.
            [answer] = bot.bot_replies(quote)
            fake.post(cy, "@KloutBot ha", quote_of=answer)
            await bot.poll()
            await bot.app.writer.flush()
            quotes = [(a, t) for k, a, t in _events(db) if k == Kind.QUOTE]
            assert quotes == [(bo.id, ana.id)]
            # Every mention is still answered once; the lookups were billed as X bills.
            assert len(bot.bot_replies(own)) == 1
            assert len(fake.requests_to("GET", r"^/2/tweets$")) == 2
            report = await bot.adapter.spend.report()
            assert report.today == {k: v for k, v in fake.ledger.counts.items() if v}
            names = sqlite3.connect(db).execute(
                "SELECT handle FROM accounts WHERE external_id = ?", (ana.id,)).fetchall()
            assert names == [("ana_x",)]


@pytest.mark.parametrize("status", [503, 403])
async def test_a_failed_quote_lookup_still_answers(tmp_path: Path, status: int) -> None:
    db = tmp_path / "x.db"
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        ana = fake.add_user("ana_x")
        bo = fake.add_user("bo_x")
        original = fake.post(ana, "a thought")
        async with x_bot(db, fake, clock, max_retries=1) as bot:
            await bot.poll()
            fake.inject(r"^/2/tweets$", status, count=None, method="GET")
            quote = fake.post(bo, "@KloutBot is this influential?", quote_of=original)
            await bot.poll()
            assert len(bot.bot_replies(quote)) == 1
            await bot.app.writer.flush()
            assert [k for k, _, _ in _events(db) if k == Kind.QUOTE] == []
