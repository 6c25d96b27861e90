"""The platform-neutral handlers as X sees them: mention parsing, short replies, no files."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from bot.adapters.x_text import weighted_length
from bot.config import Config, PrivacySection
from bot.ingest import Activity
from commands.parse import parse
from commands.types import Person
from scoring.kinds import Kind
from tests.core.helpers import T0, console_bot
from tests.privacy.helpers import confirm_code, request, rows

X = "twitter"


def test_mention_carries_privacy_arguments() -> None:
    parsed = parse("@KloutBot privacy forget confirm K7QX2M!", "KloutBot")
    assert parsed is not None
    assert (parsed.name, parsed.args) == ("privacy", ("forget", "confirm", "K7QX2M"))
    thread = parse("@bo @KloutBot please privacy optout", "KloutBot")
    assert thread is not None and thread.args == ("optout",) and thread.mentions == ("bo",)


async def test_export_on_x_says_how_to_ask(tmp_path: Path) -> None:
    config = replace(Config(), privacy=PrivacySection(contact="privacy@example.org"))
    async with console_bot(tmp_path / "x.db", config=config) as bot:
        reply, rendered = await bot.app.handle(request(X, "x", "1001", "privacy", "export"))
        assert reply.attachments == ()
        assert "privacy@example.org" in rendered.text and "/privacy export" in rendered.text
        assert weighted_length(rendered.text) <= 280


async def test_forget_over_x_mentions(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    async with console_bot(db) as bot:
        me, fan = Person(X, "1001", "ana_x", handle="ana_x"), Person(X, "2", "fan", handle="fan")
        await bot.app.ingestor.record([Activity(X, "x", fan, Kind.REPLY, T0, me, "", "p1")])
        texts = []
        for i, args in enumerate((("info",), ("optout",), ("optin",), ("forget",))):
            at = T0 + timedelta(seconds=10 * i)  # past the per-user cooldown
            _, rendered = await bot.app.handle(request(X, "x", "1001", "privacy", *args,
                                                       now=at))
            texts.append(rendered.text)
        code = confirm_code(texts[-1])
        assert "mention KloutBot with: privacy forget confirm" in texts[-1]
        later = T0 + timedelta(minutes=1)
        _, done = await bot.app.handle(request(X, "x", "1001", "privacy", "forget", "confirm",
                                               code, now=later))
        texts.append(done.text)
        assert "Forgotten: 1 actions" in done.text
        assert rows(db, "SELECT count(*) FROM accounts WHERE external_id = '1001'") == [(0,)]
        for text in texts:
            assert "@" not in text
            assert weighted_length(text) <= 280, text


async def test_repeated_refusals_on_x_are_quiet(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "q.db") as bot:
        burst = [await bot.app.handle(request(X, "x", "1001", "privacy")) for _ in range(2)]
        second, text = await bot.app.handle(request(X, "x", "1001", "privacy"))
        third, _ = await bot.app.handle(request(X, "x", "1001", "privacy"))
        assert [reply.template for reply, _ in burst] == ["privacy_info"] * 2  # user_burst
        assert second.template == "errors/cooldown" and not second.quiet
        assert "try again in 3 s" in text.text
        assert third.quiet


async def test_forget_reaches_the_adapters_tables(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    async with console_bot(db) as bot:
        me, fan = Person(X, "1001", "ana_x", handle="ana_x"), Person(X, "2", "fan", handle="fan")
        await bot.app.ingestor.record([Activity(X, "x", fan, Kind.REPLY, T0, me, "", "p1")])
        ana_id = rows(db, "SELECT id FROM accounts WHERE external_id = '1001'")[0][0]
        conn = sqlite3.connect(db)
        with conn:
            conn.execute("INSERT INTO x_profiles (user_id, username, fetched_at) "
                         "VALUES ('1001', 'ana_x', 0), ('2', 'fan', 0)")
            conn.executemany(
                "INSERT INTO x_mentions (post_id, author_id, author_handle, status, "
                "created_at, claimed_at, targets) VALUES (?, ?, ?, ?, 0, 0, ?)",
                [("50", "1001", "ana_x", "replied", "[]"),
                 ("51", "1001", "ana_x", "claimed", '[["2", "fan"]]'),
                 ("52", "2", "fan", "replied", "[]"),
                 ("53", "2", "fan", "replied", '[["1001", "ana_x"]]')])
            conn.execute("INSERT INTO x_charges (day, kind, resource_id) VALUES (1, 'user', "
                         "'1001')")
            conn.execute("INSERT INTO tier_role_grants (community_id, account_id, role_id) "
                         "VALUES (1, ?, 'r1')", (ana_id,))
            conn.execute("INSERT INTO guild_exclusions (community_id, kind, external_id) "
                         "VALUES (1, 'user', '1001'), (1, 'user', '2')")
        conn.close()
        deleted = await bot.app.privacy.forget(me)
        assert deleted.other == {"tier_role_grants": 1}
        assert rows(db, "SELECT user_id FROM x_profiles") == [("2",)]
        # Mention rows keep their post ids (so no poll answers them twice) and lose every
        # name and id of the forgotten person, also where someone else asked about them.
        assert rows(db, "SELECT post_id, author_id, author_handle, targets FROM x_mentions "
                        "ORDER BY post_id") == [
            ("50", "", "", "[]"), ("51", "", "", "[]"), ("52", "2", "fan", "[]"),
            ("53", "2", "fan", "[]")]
        assert rows(db, "SELECT count(*) FROM x_charges") == [(0,)]
        assert rows(db, "SELECT count(*) FROM tier_role_grants") == [(0,)]
        assert rows(db, "SELECT external_id FROM guild_exclusions") == [("2",)]
