"""After a rescore, the cards of members who asked lately are built again in the
background: their next /klout is a cache hit showing the new score, and nobody privacy
blocks ever gets a card built ahead."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

from bot.config import BotSection, Config
from tests.core.helpers import ConsoleBot, console_bot
from tests.privacy.helpers import build_community, score_of

FANS = ("cy", "di", "ed", "fy", "gu")


async def _more_fans(bot: ConsoleBot) -> None:
    for fan in FANS:
        await bot.say("reply #1 great", as_=fan)
        await bot.say("react #1", as_=fan)


async def test_after_a_rescore_the_next_klout_is_a_hit_with_the_new_score(
        tmp_path: Path) -> None:
    async with console_bot(tmp_path / "r.db") as bot:
        await build_community(bot, fans=("bo",))
        before = score_of(await bot.say("/klout", as_="ana"))
        await bot.say("/klout", as_="bo")
        await _more_fans(bot)
        await bot.say("/rescore")
        await bot.app.card_refresher.settle()
        cards = bot.app.cards
        assert cards.refreshed == 2
        hits, misses = cards.hits, cards.misses
        ahead = await bot.say("/klout", as_="ana")
        assert (cards.hits, cards.misses) == (hits + 1, misses)
        assert score_of(ahead) > before
        cards.clear()
        assert await bot.say("/klout", as_="ana") == ahead  # what a cold build shows


async def test_someone_opted_out_elsewhere_is_not_built_ahead(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    async with console_bot(db) as bot:
        await build_community(bot)
        await bot.say("/klout", as_="ana")
        await bot.say("/klout", as_="bo")
        comm = await bot.app.store.communities.ensure("console", "test")
        assert {p.external_id for p in bot.app.cards.recent(comm.id, 10)} == {"ana", "bo"}
        # Another process (an older bot, the CLI) opts ana out: only the file knows.
        conn = sqlite3.connect(db)
        with conn:
            conn.execute("UPDATE accounts SET opted_out = 1 WHERE external_id = 'ana'")
        conn.close()
        await _more_fans(bot)
        await bot.say("/rescore")
        await bot.app.card_refresher.settle()
        assert [p.external_id for p in bot.app.cards.recent(comm.id, 10)] == ["bo"]


async def test_the_most_recent_askers_come_first_and_the_limit_holds(tmp_path: Path) -> None:
    config = dataclasses.replace(Config(), bot=dataclasses.replace(BotSection(),
                                                                   card_refresh_ahead=1))
    async with console_bot(tmp_path / "l.db", config=config) as bot:
        await build_community(bot)
        for who in ("ana", "bo", "cy"):
            await bot.say("/klout", as_=who)
        await _more_fans(bot)
        await bot.say("/rescore")
        await bot.app.card_refresher.settle()
        cards = bot.app.cards
        assert cards.refreshed == 1
        hits = cards.hits
        await bot.say("/klout", as_="cy")  # the last to ask: built ahead
        assert cards.hits == hits + 1
        misses = cards.misses
        await bot.say("/klout", as_="ana")
        assert cards.misses == misses + 1


async def test_turned_off_nothing_is_built_ahead(tmp_path: Path) -> None:
    config = dataclasses.replace(Config(), bot=dataclasses.replace(BotSection(),
                                                                   card_refresh_ahead=0))
    async with console_bot(tmp_path / "z.db", config=config) as bot:
        await build_community(bot)
        await bot.say("/klout", as_="ana")
        await _more_fans(bot)
        await bot.say("/rescore")
        await bot.app.card_refresher.settle()
        assert bot.app.cards.refreshed == 0


async def test_shutting_down_mid_refresh_leaves_nothing_running(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "s.db") as bot:
        await build_community(bot)
        for who in ("ana", "bo", "cy", "di"):
            await bot.say("/klout", as_=who)
        await _more_fans(bot)
        await bot.say("/rescore")
        refresher = bot.app.card_refresher
        assert refresher._tasks  # still building when the app closes
    assert not refresher._tasks
