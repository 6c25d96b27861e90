"""X accounts' creation times come from user objects the bot fetches anyway, at no cost."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from bot.adapters.x_profiles import created_seconds
from bot.clock import FixedClock
from tests.twitter.helpers import T0, fake_x, x_bot

OLD = datetime(2014, 5, 17, 8, 30, tzinfo=UTC)
RECENT = datetime(2026, 10, 2, 21, 0, tzinfo=UTC)


def _created(db: Path, external_id: str) -> int | None:
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT created_at FROM accounts WHERE platform = 'twitter' "
                           "AND external_id = ?", (external_id,)).fetchone()
    finally:
        conn.close()
    assert row is not None, f"account {external_id} not stored"
    return row[0]


async def test_looked_up_and_quoted_accounts_keep_their_creation_time(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        veteran = fake.add_user("veteran_x", followers_count=300, created_at=OLD)
        quoted = fake.add_user("quoted_x", created_at=RECENT)
        original = fake.post(quoted, "a thought")
        async with x_bot(db, fake, clock) as bot:
            await bot.poll()
            fake.post(veteran, "@KloutBot what's my klout?", quote_of=original)
            await bot.poll()
            await bot.app.writer.flush()
            # The author's profile lookup (needed for the answer) and the quoted post's
            # author expansion (needed for the QUOTE) both carried created_at.
            assert _created(db, veteran.id) == int(OLD.timestamp())
            assert _created(db, quoted.id) == int(RECENT.timestamp())
            user_reads = fake.requests_to("GET", r"^/2/users$")
            assert user_reads and all("created_at" in r.query.get("user.fields", "")
                                      for r in user_reads)
            # Asking for the field bought nothing: what the adapter thinks it spent is
            # what X billed, resource for resource.
            report = await bot.adapter.spend.report()
            assert report.today == {k: v for k, v in fake.ledger.counts.items() if v}


async def test_a_garbled_creation_time_is_ignored_not_fatal(tmp_path: Path) -> None:
    assert created_seconds({"created_at": "2014-05-17T08:30:00.000Z"}) == int(OLD.timestamp())
    for bad in ("yesterday", "2014-05-17T08:30:00", 1400315400, None):
        assert created_seconds({"created_at": bad}) is None
    assert created_seconds({}) is None
