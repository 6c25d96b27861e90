"""Exactly-once weekly posts on the console platform, over real SQLite files, with a
fixed clock driven through weeks of schedule (no sleeping)."""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.base import DeliveryError
from bot.adapters.console import ConsoleAdapter
from bot.app import KloutApp
from bot.config import BotSection, Config
from bot.leaderboards.post import find_marker
from bot.leaderboards.poster import Outcome, schedule_of
from bot.leaderboards.schedule import slots_between
from bot.scheduler import cron_trigger
from commands.types import Reply
from tests.leaderboards.helpers import (
    CHANNEL,
    SimulatedCrash,
    add_destination,
    console_posts,
    crash_at,
    running_bot,
    seed_scores,
    utc,
)

MONDAY = utc(2026, 3, 16, 8, 0)  # 09:00 in Berlin (CET)
LONG_AGO = MONDAY - timedelta(days=60)
SCORES = {"ana": 62, "bo": 48, "cy": 30, "di": 20}
BEFORE = {"ana": 58, "bo": 50, "cy": 22}


async def seed(app: KloutApp, scores: dict[str, int] = SCORES, *,
               names: dict[str, str] | None = None) -> None:
    await seed_scores(app, BEFORE, LONG_AGO, names=names)
    await seed_scores(app, scores, MONDAY - timedelta(hours=1), names=names)


async def simulate(app: KloutApp, start: datetime, end: datetime, *,
                   sweep: timedelta = timedelta(hours=6)) -> list[Outcome]:
    """What the scheduler does, minus the waiting: tick at every cron fire time of every
    destination and at every sweep, in time order."""
    moments = set()
    for dest in await app.store.leaderboards.destinations():
        trigger, fire = cron_trigger(schedule_of(dest)), None
        while True:
            fire = trigger.get_next_fire_time(fire, start if fire is None else fire)
            if fire is None or fire > end:
                break
            moments.add(fire)
            fire = fire + timedelta(seconds=1)
    t = start
    while t <= end:
        moments.add(t)
        t += sweep
    outcomes = []
    for moment in sorted(moments):
        app.clock.set(moment)  # type: ignore[attr-defined]
        outcomes += await app.leaderboards.tick(moment)
    return outcomes


async def test_weekly_post_at_nine_local_time_across_the_dst_change(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "dst.db", MONDAY - timedelta(days=1)) as (app, _, _):
        await seed(app)
        start, end = utc(2026, 3, 15), utc(2026, 4, 14)
        dest = await add_destination(app, since=start)
        outcomes = await simulate(app, start, end)
        posted = [o for o in outcomes if o.action == "posted"]
        rows = await app.store.leaderboards.posts(dest.id)
        assert [r.period for r in rows] == ["2026-03-16", "2026-03-23", "2026-03-30",
                                            "2026-04-06", "2026-04-13"]
        assert len(posted) == 5 and all(r.state == "posted" for r in rows)
        # Posted on the minute, at 09:00 Berlin time: 08:00 UTC before the change, 07:00 after.
        assert [r.posted_at for r in rows] == [r.due_at for r in rows]
        assert [r.due_at for r in rows][1:3] == [int(utc(2026, 3, 23, 8).timestamp()),
                                                 int(utc(2026, 3, 30, 7).timestamp())]
        assert not any(r.catch_up for r in rows)
        texts = await console_posts(app)
        assert len(texts) == 5
        assert [find_marker(t) for t in texts][2] == ("2026-03-30", 1, 1)


async def test_a_simulated_year_posts_each_week_once(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "year.db", MONDAY) as (app, _, _):
        await seed(app)
        start, end = utc(2026, 1, 1), utc(2027, 1, 1)
        dest = await add_destination(app, since=start)
        await simulate(app, start, end, sweep=timedelta(hours=12))
        rows = await app.store.leaderboards.posts(dest.id)
        expected = slots_between(schedule_of(dest), start, end)
        assert len(expected) == 52
        assert [(r.period, r.due_at) for r in rows] == [
            (s.period, int(s.due.timestamp())) for s in expected]
        assert len(await console_posts(app)) == 52


# -- crashes at every step of claim / send / mark ------------------------------------
LONG = {f"member_{i:02d}_" + "x" * 50: 90 - i for i in range(30)}
STEPS = ["claim", "claimed", "send:1", "sent:1", "send:2", "sent:2", "mark", "marked"]


@pytest.mark.parametrize("step", STEPS)
async def test_no_double_post_when_the_bot_dies_at_any_step(tmp_path: Path, step: str) -> None:
    db = tmp_path / "crash.db"
    due = MONDAY
    async with running_bot(db, due) as (app, _, _):
        await seed_scores(app, LONG, due - timedelta(hours=1))
        dest = await add_destination(app, since=LONG_AGO, top=30)
        app.leaderboards.hook = crash_at(step)
        with pytest.raises(SimulatedCrash):
            await app.leaderboards.tick(due + timedelta(minutes=1))
    # A new process on the same file, a few minutes later.
    async with running_bot(db, due + timedelta(minutes=5)) as (app, clock, _):
        await app.leaderboards.tick(clock.now())
        await app.leaderboards.tick(clock.now() + timedelta(hours=1))
        texts = await console_posts(app)
        markers = sorted(find_marker(t) for t in texts)  # type: ignore[type-var]
        assert markers == [("2026-03-16", 1, 2), ("2026-03-16", 2, 2)]
        row = await app.store.leaderboards.post_row(dest.id, "2026-03-16")
        assert row is not None and row.state == "posted"
        # The claimed board (names, scores) is kept only until the period settles.
        assert row.payload is None
        posts = await app.store.leaderboards.console_posts(CHANNEL, 0)
        assert row.message_ids == tuple(str(p.id) for p in posts)


async def test_interrupted_and_restarted_past_the_grace_window(tmp_path: Path) -> None:
    db = tmp_path / "late.db"
    async with running_bot(db, MONDAY) as (app, _, _):
        await seed_scores(app, LONG, MONDAY - timedelta(hours=1))
        dest = await add_destination(app, since=LONG_AGO, top=30)
        app.leaderboards.hook = crash_at("send:1")
        with pytest.raises(SimulatedCrash):
            await app.leaderboards.tick(MONDAY)
    async with running_bot(db, MONDAY + timedelta(days=2)) as (app, clock, _):
        [outcome] = await app.leaderboards.tick(clock.now())
        assert outcome.action == "skipped"
        assert await console_posts(app) == []
        row = await app.store.leaderboards.post_row(dest.id, "2026-03-16")
        assert row is not None and row.state == "skipped" and row.payload is None


async def test_half_a_thread_is_finished_even_after_the_grace_window(tmp_path: Path) -> None:
    db = tmp_path / "half.db"
    async with running_bot(db, MONDAY) as (app, _, _):
        await seed_scores(app, LONG, MONDAY - timedelta(hours=1))
        await add_destination(app, since=LONG_AGO, top=30)
        app.leaderboards.hook = crash_at("sent:1")
        with pytest.raises(SimulatedCrash):
            await app.leaderboards.tick(MONDAY)
    async with running_bot(db, MONDAY + timedelta(days=2)) as (app, clock, _):
        # Scores moved meanwhile; the rest of the thread is the board as claimed.
        await seed_scores(app, {"newcomer": 99}, clock.now())
        await app.leaderboards.tick(clock.now())
        texts = await console_posts(app)
        assert [find_marker(t)[1:] for t in texts] == [(1, 2), (2, 2)]  # type: ignore[index]
        assert "newcomer" not in texts[1]


# -- downtime -----------------------------------------------------------------------
async def test_catch_up_inside_the_grace_window_posts_once_and_says_late(
        tmp_path: Path) -> None:
    async with running_bot(tmp_path / "up.db", MONDAY) as (app, _, _):
        await seed(app)
        dest = await add_destination(app, since=LONG_AGO)
    # The bot was down at 09:00 and comes back at 14:00.
    async with running_bot(tmp_path / "up.db", MONDAY + timedelta(hours=5)) as (app, clock, _):
        [outcome] = await app.leaderboards.tick(clock.now())
        assert (outcome.action, outcome.catch_up) == ("posted", True)
        await app.leaderboards.tick(clock.now() + timedelta(hours=1))
        [text] = await console_posts(app)
        assert "Posted late" in text
        row = await app.store.leaderboards.post_row(dest.id, "2026-03-16")
        assert row is not None and row.catch_up and row.note == "catch-up"


async def test_past_the_grace_window_the_week_is_skipped_and_logged(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with running_bot(tmp_path / "down.db", MONDAY) as (app, _, _):
        await seed(app)
        dest = await add_destination(app, since=LONG_AGO)
    caplog.set_level(logging.WARNING, logger="bot.leaderboards.poster")
    async with running_bot(tmp_path / "down.db", MONDAY + timedelta(hours=30)) as (app, _, _):
        outcomes = await simulate(app, MONDAY + timedelta(hours=30), MONDAY + timedelta(days=8))
        assert [o.action for o in outcomes if o.action != "done"] == ["skipped", "posted"]
        rows = await app.store.leaderboards.posts(dest.id)
        assert [(r.period, r.state) for r in rows] == [("2026-03-16", "skipped"),
                                                       ("2026-03-23", "posted")]
        assert len(await console_posts(app)) == 1
    assert any("2026-03-16, skipped" in r.getMessage() and "grace" in r.getMessage()
               for r in caplog.records)


async def test_grace_window_comes_from_config(tmp_path: Path) -> None:
    config = Config().with_overrides(bot=dataclasses.replace(
        BotSection(), leaderboard_catch_up_hours=2))
    async with running_bot(tmp_path / "g.db", MONDAY + timedelta(hours=3),
                           config=config) as (app, clock, _):
        await seed(app)
        await add_destination(app, since=LONG_AGO)
        [outcome] = await app.leaderboards.tick(clock.now())
        assert outcome.action == "skipped"


async def test_a_new_or_changed_schedule_does_not_post_a_slot_it_never_had(
        tmp_path: Path) -> None:
    wednesday = MONDAY + timedelta(days=2)
    async with running_bot(tmp_path / "new.db", wednesday) as (app, clock, _):
        await seed(app)
        dest = await add_destination(app, since=wednesday)  # Monday's slot predates it
        assert [o.action for o in await app.leaderboards.tick(clock.now())] == ["not_due"]
        dest = await add_destination(app, weekday=1, since=wednesday)  # now Tuesdays
        assert [o.action for o in await app.leaderboards.tick(clock.now())] == ["not_due"]
        outcomes = await simulate(app, wednesday, wednesday + timedelta(days=7))
        assert [o.period for o in outcomes if o.action == "posted"] == ["2026-03-24"]
        assert dest.weekday == 1


async def test_two_destinations_with_their_own_schedules(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "two.db", MONDAY) as (app, _, _):
        await seed(app)
        start = utc(2026, 3, 16)
        berlin = await add_destination(app, since=start, top=3)
        new_york = await add_destination(app, destination="fridays", weekday=4, time="17:30",
                                         timezone="America/New_York", top=2, since=start)
        await simulate(app, utc(2026, 3, 16), utc(2026, 4, 5))
        berlin_rows = await app.store.leaderboards.posts(berlin.id)
        ny_rows = await app.store.leaderboards.posts(new_york.id)
        assert [r.period for r in berlin_rows] == ["2026-03-16", "2026-03-23", "2026-03-30"]
        # US DST began on 8 March: 17:30 EDT is 21:30 UTC.
        assert [r.period for r in ny_rows] == ["2026-03-20", "2026-03-27", "2026-04-03"]
        assert ny_rows[0].posted_at == int(utc(2026, 3, 20, 21, 30).timestamp())
        weekly, fridays = await console_posts(app), await console_posts(app, "fridays")
        assert len(weekly) == 3 and len(fridays) == 3
        assert "Top 3 of 4" in weekly[0] and "Top 2 of 4" in fridays[0]
        assert " 3. cy" in weekly[0] and " 3. " not in fridays[0]


async def test_nobody_scored_means_no_post(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "empty.db", MONDAY) as (app, clock, _):
        await app.store.communities.ensure("console", "test")
        await add_destination(app, since=LONG_AGO)
        [outcome] = await app.leaderboards.tick(clock.now())
        assert outcome.action == "empty"
        assert await console_posts(app) == []


# -- platform failures ----------------------------------------------------------------
class FlakyPlatform:
    """The console platform, failing the first `failures` sends; with `accepted`, a
    failed send still lands (a timeout after the platform took the post)."""

    name = "console"

    def __init__(self, console: ConsoleAdapter, failures: int, *, retryable: bool = True,
                 accepted: bool = False) -> None:
        self.console, self.failures = console, failures
        self.retryable, self.accepted = retryable, accepted
        self.sends = 0

    async def send(self, destination: str, reply: Reply) -> str | None:
        self.sends += 1
        if self.failures > 0:
            self.failures -= 1
            if self.accepted:
                await self.console.send(destination, reply)
            raise DeliveryError("platform said no", retryable=self.retryable)
        return await self.console.send(destination, reply)

    async def recent_own_posts(self, destination: str, since: datetime) -> list:  # type: ignore[type-arg]
        return await self.console.recent_own_posts(destination, since)


@pytest.mark.parametrize("accepted", [False, True])
async def test_a_failed_send_is_retried_without_a_double_post(tmp_path: Path,
                                                               accepted: bool) -> None:
    async with running_bot(tmp_path / "flaky.db", MONDAY) as (app, clock, _):
        await seed(app)
        await add_destination(app, since=LONG_AGO)
        flaky = FlakyPlatform(app.adapters["console"], 1,  # type: ignore[arg-type]
                              accepted=accepted)
        app.adapters["console"] = flaky
        [first] = await app.leaderboards.tick(clock.now())
        assert first.action == "retry"
        [second] = await app.leaderboards.tick(clock.now() + timedelta(minutes=1))
        assert second.action == ("recovered" if accepted else "posted")
        assert len(await console_posts(app)) == 1
        assert flaky.sends == (1 if accepted else 2)


async def test_a_permanent_failure_gives_up(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "perm.db", MONDAY) as (app, clock, _):
        await seed(app)
        dest = await add_destination(app, since=LONG_AGO)
        flaky = FlakyPlatform(app.adapters["console"], 1, retryable=False)  # type: ignore[arg-type]
        app.adapters["console"] = flaky
        [first] = await app.leaderboards.tick(clock.now())
        await app.leaderboards.tick(clock.now() + timedelta(minutes=1))
        assert first.action == "failed" and flaky.sends == 1
        row = await app.store.leaderboards.post_row(dest.id, "2026-03-16")
        assert row is not None and row.state == "failed" and "platform said no" in row.note


async def test_without_its_adapter_a_destination_waits_without_claiming(
        tmp_path: Path) -> None:
    async with running_bot(tmp_path / "wait.db", MONDAY) as (app, clock, _):
        await seed(app)
        dest = await add_destination(app, since=LONG_AGO)
        del app.adapters["console"]
        [outcome] = await app.leaderboards.tick(clock.now())
        assert outcome.action == "waiting"
        assert await app.store.leaderboards.post_row(dest.id, "2026-03-16") is None
