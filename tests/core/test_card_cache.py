"""The /klout card cache serves a card again only while nothing it shows has changed,
and never serves anyone who opted out or was forgotten."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

from bot.app import KloutApp
from bot.clock import FixedClock
from bot.config import Config
from tests.core.helpers import T0, console_bot
from tests.privacy.helpers import build_community, confirm_code, score_of


async def test_a_second_klout_is_served_from_the_cache(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "c.db") as bot:
        await build_community(bot)
        first = await bot.say("/klout", as_="ana")
        misses, hits = bot.app.cards.misses, bot.app.cards.hits
        again = await bot.say("/klout", as_="ana")
        assert again == first
        assert (bot.app.cards.misses, bot.app.cards.hits) == (misses, hits + 1)


async def test_a_rescore_shows_new_scores_at_once(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "r.db") as bot:
        await build_community(bot, fans=("bo",))
        before = score_of(await bot.say("/klout", as_="ana"))
        for fan in ("cy", "di", "ed", "fy", "gu"):
            await bot.say("reply #1 great", as_=fan)
            await bot.say("react #1", as_=fan)
        await bot.say("/rescore")
        after = await bot.say("/klout", as_="ana")
        assert score_of(after) > before


async def test_an_opted_out_member_is_never_served_from_the_cache(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "o.db") as bot:
        await build_community(bot)
        await bot.say("/klout @ana", as_="bo")
        await bot.say("/klout", as_="ana")
        await bot.say("/privacy optout", as_="ana")
        hits = bot.app.cards.hits
        assert "opted out of scoring" in await bot.say("/klout @ana", as_="bo")
        assert "not even to you" in await bot.say("/klout", as_="ana")
        assert bot.app.cards.hits == hits
        await bot.say("/privacy optin", as_="ana")
        assert score_of(await bot.say("/klout @ana", as_="bo")) > 1


async def test_an_opted_out_contributor_disappears_from_cached_cards(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "n.db") as bot:
        await build_community(bot)
        card = await bot.say("/klout", as_="ana")
        assert "bo (" in card
        await bot.say("/privacy optout", as_="bo")
        assert "bo (" not in await bot.say("/klout", as_="ana")


async def test_a_forgotten_member_is_never_served_from_the_cache(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "f.db") as bot:
        await build_community(bot)
        assert score_of(await bot.say("/klout @ana", as_="bo")) > 1
        out = await bot.say("/privacy forget", as_="ana")
        await bot.say(f"/privacy forget confirm {confirm_code(out)}", as_="ana")
        after = await bot.say("/klout @ana", as_="bo")
        assert "doesn't have a score" in after or "don't know" in after


async def test_an_opt_out_written_by_another_process_is_seen(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    async with console_bot(db) as bot:
        await build_community(bot)
        assert score_of(await bot.say("/klout @ana", as_="bo")) > 1
        conn = sqlite3.connect(db)
        with conn:
            conn.execute("UPDATE accounts SET opted_out = 1 WHERE external_id = 'ana'")
        conn.close()
        assert "opted out of scoring" in await bot.say("/klout @ana", as_="bo")


async def test_a_rescore_by_another_process_is_seen(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    async with console_bot(db) as bot:
        await build_community(bot, fans=("bo",))
        before = score_of(await bot.say("/klout", as_="ana"))
        for fan in ("cy", "di", "ed", "fy", "gu"):
            await bot.say("reply #1 great", as_=fan)
            await bot.say("react #1", as_=fan)
        await bot.app.writer.flush()
        async with KloutApp(Config(), clock=FixedClock(T0), db_path=db) as other:
            await other.rescore_community("console", "test")
        assert score_of(await bot.say("/klout", as_="ana")) > before


async def test_settings_changes_and_a_new_day_rebuild_the_card(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "s.db") as bot:
        await build_community(bot)
        await bot.say("/klout", as_="ana")
        misses = bot.app.cards.misses
        await bot.say("/klout", as_="ana")
        assert bot.app.cards.misses == misses
        await bot.say("/kloutadmin exclude user cy", as_="ana")
        await bot.say("/klout", as_="ana")
        assert bot.app.cards.misses == misses + 1
        bot.clock.advance(timedelta(days=1))
        await bot.say("/klout", as_="ana")
        assert bot.app.cards.misses == misses + 2


async def test_the_cache_is_bounded(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "b.db") as bot:
        await build_community(bot)
        bot.app.cards.size = 2
        for who in ("ana", "bo", "cy", "di"):
            await bot.say("/klout", as_=who)
        assert len(bot.app.cards) == 2


async def test_a_rescore_hands_the_member_count_to_the_next_card(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "v.db") as bot:
        await build_community(bot)
        influence = bot.app.influence
        comm = await bot.app.store.communities.ensure("console", "test")
        key, total, opted_out = influence._visible[comm.id]
        # What the next /klout would otherwise count on the reader connection.
        assert total == await bot.app.store.scores.total(comm.id)
        assert opted_out == await bot.app.store.scores.opted_out_ranks(comm.id)
        assert key == await influence._visibility_key(comm.id)
        assert f"of {total}" in await bot.say("/klout", as_="ana")


async def test_a_forget_leaves_no_card_or_render_naming_them(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "g.db") as bot:
        await build_community(bot)
        for who in ("cy", "di"):
            assert "bo (" in await bot.say("/klout @ana", as_=who)
        assert len(bot.app.cards) > 0 and bot.app.renderer._memo
        out = await bot.say("/privacy forget", as_="bo")
        await bot.say(f"/privacy forget confirm {confirm_code(out)}", as_="bo")
        assert len(bot.app.cards) == 0 and not bot.app.renderer._memo
        assert "bo (" not in await bot.say("/klout @ana", as_="cy")


async def test_the_stamp_is_read_on_the_event_loop_thread(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "t.db") as bot:
        await build_community(bot)
        state = bot.app.store.card_state
        await bot.say("/klout", as_="ana")
        local, shared = state.local_reads, state.shared_reads
        await bot.say("/klout", as_="ana")
        assert (state.local_reads, state.shared_reads) == (local + 1, shared)


async def test_the_loop_threads_connection_is_never_used_from_another_thread(
        tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    async with console_bot(db) as bot:
        await build_community(bot)
        comm = await bot.app.store.communities.ensure("console", "test")
        state = bot.app.store.card_state
        expected = state.read_now(comm.id, "console", "ana")
        assert expected is not None and expected[2] is not None and expected[3] == 0
        assert await asyncio.to_thread(state.read_now, comm.id, "console", "ana") is None
        conn = sqlite3.connect(db)
        with conn:
            conn.execute("UPDATE accounts SET opted_out = 1 WHERE external_id = 'ana'")
        conn.close()
        assert state.read_now(comm.id, "console", "ana") == (*expected[:3], 1, *expected[4:])
