"""Scores follow new activity within seconds on every platform (bot/services/freshness.py).

Real app over a real SQLite file; the delay is a config value set to a few ms, and the
tests wait on FreshScores.settle, never on a sleep of their own.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

from bot.app import KloutApp
from bot.clock import FixedClock
from bot.config import Config
from bot.ingest import Activity
from commands.types import Person, Request
from scoring.kinds import Kind
from tests.core.helpers import T0

PLATFORM = "discord"  # not the console: it rescores on its own before each command
GUILD = "g1"


def config(delay_s: float = 0.01, max_members: int = 100_000) -> Config:
    base = Config()
    bot = dataclasses.replace(base.bot, fresh_scores_after_s=delay_s,
                              fresh_scores_max_members=max_members)
    return base.with_overrides(bot=bot)


def person(name: str) -> Person:
    return Person(PLATFORM, name, name)


def replies(clock: FixedClock, target: str, *actors: str) -> list[Activity]:
    now = clock.now()
    acts = [Activity(PLATFORM, GUILD, person(target), Kind.MESSAGE, now, None, "c", "m1")]
    for i, actor in enumerate(actors):
        acts.append(Activity(PLATFORM, GUILD, person(actor), Kind.REPLY, now, person(target),
                             "c", f"r{target}{i}"))
    return acts


def ask(clock: FixedClock, who: str, command: str, *targets: str) -> Request:
    clock.advance(timedelta(seconds=31))  # past the cooldowns
    return Request(PLATFORM, GUILD, person(who), command, (),
                   tuple(person(t) for t in targets), clock.now(), channel=f"c-{who}")


async def test_new_activity_is_scored_without_any_rescore_asked(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with KloutApp(config(), clock=clock, db_path=tmp_path / "f.db") as app:
        _, before = await app.handle(ask(clock, "bob", "klout", "alice"))
        assert "doesn't have a score yet" in before.text
        await app.ingestor.record(replies(clock, "alice", "bob", "cy", "di"))
        await app.freshness.settle()
        assert app.freshness.rescores == 1  # the whole burst: one rescore
        reply, card = await app.handle(ask(clock, "bob", "klout", "alice"))
        assert reply.template == "klout" and card.text.startswith("alice: ")
        assert "Driven most by: bob" in card.text
        _, board = await app.handle(ask(clock, "cy", "leaderboard"))
        assert "alice" in board.text

        # Later activity moves scores again, still without anyone asking for a rescore.
        await app.ingestor.record(replies(clock, "bob", "alice", "cy", "di", "ed"))
        await app.freshness.settle()
        assert app.freshness.rescores == 2
        _, card = await app.handle(ask(clock, "alice", "klout", "bob"))
        assert card.text.startswith("bob: ") and "rank #" in card.text


async def test_a_removed_event_is_rescored_too(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with KloutApp(config(), clock=clock, db_path=tmp_path / "r.db") as app:
        await app.ingestor.record(replies(clock, "alice", "bob", "cy"))
        await app.freshness.settle()
        comm = await app.store.communities.ensure(PLATFORM, GUILD)
        scored = app.freshness.rescores
        assert await app.store.events.remove_source(comm.id, "ralice0") == 1
        await app.freshness.settle()
        assert app.freshness.rescores == scored + 1


async def test_big_communities_wait_for_the_schedule(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with KloutApp(config(max_members=2), clock=clock, db_path=tmp_path / "b.db") as app:
        await app.ingestor.record(replies(clock, "alice", "bob", "cy"))
        await app.freshness.settle()
        assert app.freshness.rescores == 1  # its size was not known yet
        await app.ingestor.record(replies(clock, "bob", "alice", "cy"))
        await app.freshness.settle()
        assert app.freshness.rescores == 1  # 3 members > 2: hourly only


async def test_off_when_the_delay_is_zero(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with KloutApp(config(delay_s=0), clock=clock, db_path=tmp_path / "o.db") as app:
        await app.ingestor.record(replies(clock, "alice", "bob", "cy"))
        await app.writer.flush()
        await app.freshness.settle()
        assert app.freshness.rescores == 0
        comm = await app.store.communities.ensure(PLATFORM, GUILD)
        assert await app.store.scores.rescore_state(comm.id) is None


async def test_kept_cards_answer_while_rebuilt_after_a_background_rescore_only(
        tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with KloutApp(config(), clock=clock, db_path=tmp_path / "c.db") as app:
        await app.ingestor.record(replies(clock, "alice", "bob", "cy", "di"))
        await app.freshness.settle()
        await app.card_refresher.settle()
        cards = app.cards
        kept = await cards.card(PLATFORM, GUILD, person("alice"), clock.now())
        for who in ("bob", "cy"):  # alice asked first: her card is rebuilt last
            await cards.card(PLATFORM, GUILD, person(who), clock.now())

        clock.advance(timedelta(seconds=1))
        await app.ingestor.record(replies(clock, "alice", "ed", "fay"))
        await app.freshness.settle()
        assert app.card_refresher.busy(await _cid(app))
        misses = cards.misses
        # One rescore behind, while the refresher rebuilds: answered at once, as kept.
        assert await cards.card(PLATFORM, GUILD, person("alice"), clock.now()) is kept
        assert cards.misses == misses
        await app.card_refresher.settle()
        fresh = await cards.card(PLATFORM, GUILD, person("alice"), clock.now())
        assert fresh is not kept and fresh.counts_by_kind == {"reply": 5}

        # A rescore someone asked for (/rescore, the console) is shown at once.
        clock.advance(timedelta(seconds=1))
        await app.ingestor.record(replies(clock, "alice", "gus"))
        await app.rescore_community(PLATFORM, GUILD)
        assert not app.freshness.in_background(await _cid(app))
        shown = await cards.card(PLATFORM, GUILD, person("alice"), clock.now())
        assert shown.counts_by_kind == {"reply": 6}


async def _cid(app: KloutApp) -> int:
    return (await app.store.communities.ensure(PLATFORM, GUILD)).id
