"""The weekly leaderboard reaches the local X exactly once per period, crash or not."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import LeaderboardEntry
from bot.ingest import Activity
from commands.types import Person
from scoring.kinds import Kind
from tests.twitter.helpers import T0, XBot, fake_x, x_bot

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Crash(Exception):
    pass


async def scored_x_community(bot: XBot) -> None:
    people = [Person("twitter", str(100 + i), f"user_{i}", handle=f"user_{i}") for i in range(8)]
    now = bot.clock.now()
    acts = [Activity("twitter", "x", fan, Kind.REPLY, now - timedelta(hours=i), star,
                     source=f"p{i}-{j}")
            for i, star in enumerate(people) for j, fan in enumerate(people[i + 1:])]
    await bot.app.ingestor.record(acts)
    await bot.app.rescore_community("twitter", "x")


async def schedule_due_now(bot: XBot) -> None:
    bot.app.adapters["twitter"] = bot.adapter
    now = bot.clock.now()
    due = now - timedelta(minutes=5)
    entry = LeaderboardEntry(platform="twitter", community="x", weekday=WEEKDAYS[due.weekday()],
                             time=due.strftime("%H:%M"), timezone="UTC", top=5)
    await bot.app.leaderboards.sync_config([entry], now - timedelta(days=1))


def own_posts(bot: XBot) -> list[str]:
    return [p.text for p in bot.fake.posts_by(bot.fake.bot)]


async def test_weekly_post_on_x_lands_once_without_pings(tmp_path: Path) -> None:
    from bot.clock import FixedClock

    clock = FixedClock(T0 + timedelta(days=3))
    async with fake_x(clock) as fake, x_bot(tmp_path / "x.db", fake, clock) as bot:
        await scored_x_community(bot)
        await schedule_due_now(bot)
        await bot.app.leaderboards.tick(clock.now())
        first = own_posts(bot)
        assert first, "nothing was posted"
        await bot.app.leaderboards.tick(clock.now() + timedelta(minutes=1))
        assert own_posts(bot) == first
        assert all("@" not in text for text in first)
        assert "user_0" in first[0]


@pytest.mark.parametrize("step", ["sent:1", "mark"])
async def test_crash_after_sending_never_double_posts_on_x(tmp_path: Path, step: str) -> None:
    from bot.clock import FixedClock

    clock = FixedClock(T0 + timedelta(days=3))
    db = tmp_path / "c.db"
    async with fake_x(clock) as fake:
        async with x_bot(db, fake, clock) as bot:
            await scored_x_community(bot)
            await schedule_due_now(bot)

            async def crash(at: str) -> None:
                if at == step:
                    raise Crash(at)

            bot.app.leaderboards.hook = crash
            await bot.app.leaderboards.tick(clock.now())
            posted = own_posts(bot)
            assert len(posted) >= 1
        async with x_bot(db, fake, clock) as bot:
            bot.app.adapters["twitter"] = bot.adapter
            await bot.app.leaderboards.tick(clock.now())
            after = own_posts(bot)
            (dest,) = await bot.app.store.leaderboards.destinations()
            assert await bot.app.store.leaderboards.unfinished(dest.id) == []
    # Part 1 was out before the crash; the restart adds only what was missing, once.
    assert after[: len(posted)] == posted
    markers = [m for text in after for m in re.findall(r"\[\S+ \d+/\d+\]", text)]
    assert markers and len(markers) == len(set(markers)) == len(after)
    total = int(markers[0].split("/")[1].rstrip("]"))
    assert len(after) == total
