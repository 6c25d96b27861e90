"""/link twitter from another platform, verified through the X API (the local fake X)."""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import FixedClock
from commands.types import Person, Request
from tests.fakes.x_fake import FakeUser
from tests.privacy.helpers import link_code
from tests.twitter.helpers import T0, XBot, fake_x, x_bot


def _linked(db: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return [tuple(r) for r in conn.execute(
            "SELECT a.external_id, x.external_id FROM account_links l "
            "JOIN accounts a ON a.id = l.account_id JOIN accounts x ON x.id = l.linked_id")]
    finally:
        conn.close()


async def _say(bot: XBot, who: str, *args: str) -> str:
    bot.clock.advance(timedelta(seconds=10))  # past the per-user cooldown
    request = Request("discord", "g1", Person("discord", who, who), "link", args,
                      now=bot.clock.now(), channel="c1")
    _, rendered = await bot.app.handle(request)
    return rendered.text


async def _setup(bot: XBot, fake_user: FakeUser, who: str = "d-ana") -> str:
    await bot.adapter.start()
    return link_code(await _say(bot, who, "twitter", fake_user.username))


async def test_code_in_bio_links_and_wrong_codes_are_refused(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    db = tmp_path / "x.db"
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        ana = fake.add_user("ana_x", description="building things")
        async with x_bot(db, fake, clock) as bot:
            code = await _setup(bot, ana)
            # Not there yet; then a code that is not hers; then a wrong code typed.
            assert "don't see your code" in await _say(bot, "d-ana", "twitter", "verify")
            ana.description = "building things · klout-ZZZZZZZZ"
            assert "don't see your code" in await _say(bot, "d-ana", "twitter", "verify")
            assert "isn't the code" in await _say(bot, "d-ana", "twitter", "verify",
                                                  "klout-ZZZZZZZZ")
            assert _linked(db) == []
            ana.description = f"building things · {code.lower()}"
            done = await _say(bot, "d-ana", "twitter", "verify", code)
            assert "Linked: X account ana" in done
            assert _linked(db) == [("d-ana", ana.id)]
            # One X account belongs to one person.
            assert "already linked" in await _say(bot, "d-bo", "twitter", "ana_x")
            assert _linked(db) == [("d-ana", ana.id)]
    assert code not in caplog.text
    assert code.lower() not in caplog.text.lower()


async def test_code_in_a_post_mentioning_the_bot_links(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        ana = fake.add_user("ana_x")
        async with x_bot(db, fake, clock) as bot:
            code = await _setup(bot, ana)
            fake.post(ana, f"my code is {code}")  # not addressed to the bot: no proof
            assert "don't see your code" in await _say(bot, "d-ana", "twitter", "verify")
            fake.post(ana, f"@KloutBot {code}")
            assert "Linked" in await _say(bot, "d-ana", "twitter", "verify")
            assert _linked(db) == [("d-ana", ana.id)]


async def test_code_in_a_reply_to_the_bot_links(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        ana = fake.add_user("ana_x")
        async with x_bot(db, fake, clock) as bot:
            await bot.poll()
            question = fake.post(ana, "@KloutBot me?")
            await bot.poll()
            [answer] = bot.bot_replies(question)
            code = await _setup(bot, ana)
            fake.post(ana, f"here it is {code}", reply_to=answer)  # X adds "@KloutBot"
            assert "Linked" in await _say(bot, "d-ana", "twitter", "verify")
            assert _linked(db) == [("d-ana", ana.id)]


async def test_x_outage_is_a_clear_try_again(tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "x.db"
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        ana = fake.add_user("ana_x")
        async with x_bot(db, fake, clock, max_retries=1) as bot:
            code = await _setup(bot, ana)
            ana.description = code
            outage = fake.inject(r"^/2/users/by$", 503, count=None)
            reply = await _say(bot, "d-ana", "twitter", "verify")
            assert "couldn't reach X" in reply and "still valid" in reply
            assert outage.fired == 2 and _linked(db) == []
            assert "Traceback" not in caplog.text
            assert any("could not verify a twitter link" in r.getMessage()
                       for r in caplog.records)
            # The sample of posts failing is no verdict either.
            fake.clear_faults()
            ana.description = ""
            fake.inject(r"^/2/users/\d+/tweets$", 503, count=None)
            assert "couldn't reach X" in await _say(bot, "d-ana", "twitter", "verify")
            fake.clear_faults()
            ana.description = code  # X is back: the same code still works
            assert "Linked" in await _say(bot, "d-ana", "twitter", "verify")
    assert code not in caplog.text
