"""The scheduler service: its APScheduler jobs, the startup sweep, rescoring that never
overlaps, and history retention. Waits on events with timeouts, never on the clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot import runner
from bot.app import KloutApp
from bot.config import Config, LeaderboardEntry
from bot.scheduler import SchedulerService
from bot.services.periodic import RescoreJob, prune_history
from tests.leaderboards.helpers import console_posts, running_bot, seed_scores, utc

MONDAY = utc(2026, 3, 16, 8, 0)


async def test_runner_starts_the_scheduler_service() -> None:
    assert "bot.scheduler:start" in runner.SERVICES


CONFIG = Config(leaderboard=[
    LeaderboardEntry(platform="console", channel="weekly", community="test",
                     timezone="Europe/Berlin"),
    LeaderboardEntry(platform="console", channel="fridays", community="test", weekday="fri",
                     time="17:30", timezone="America/New_York", top=3),
])


async def run_service(app: KloutApp) -> SchedulerService:
    service = SchedulerService(app)
    await service.start()
    await asyncio.wait_for(service.swept.wait(), timeout=10)
    return service


async def test_service_jobs_and_the_startup_catch_up(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    async with running_bot(db, MONDAY - timedelta(days=3), config=CONFIG) as (app, _, _):
        await seed_scores(app, {"ana": 50, "bo": 40}, MONDAY - timedelta(days=1))
        service = await run_service(app)
        await service.stop()
        assert await console_posts(app) == []
    # Down over the weekend; back at 10:30 Berlin time, after the 09:00 slot.
    async with running_bot(db, MONDAY + timedelta(hours=1, minutes=30), config=CONFIG
                           ) as (app, clock, _):
        service = await run_service(app)
        try:
            rescore = service.scheduler.get_job("rescore")
            assert rescore is not None and isinstance(rescore.trigger, IntervalTrigger)
            assert rescore.max_instances == 1 and rescore.coalesce is True
            assert rescore.trigger.interval == timedelta(
                minutes=app.config.scoring.rescore_interval_minutes)
            assert service.scheduler.get_job("prune-history") is not None
            weekly, fridays = await app.store.leaderboards.destinations()
            post_job = service.scheduler.get_job(f"leaderboard-post-{weekly.id}")
            assert post_job is not None and isinstance(post_job.trigger, CronTrigger)
            assert str(post_job.trigger.timezone) == "Europe/Berlin"
            assert len(service.scheduler.get_jobs()) == 5
            # A destination that goes away loses its job at the next sweep.
            await app.store.leaderboards.disable(fridays.id, int(clock.now().timestamp()))
            await service.sync_jobs()
            assert service.scheduler.get_job(f"leaderboard-post-{fridays.id}") is None
        finally:
            await service.stop()
        assert not service.scheduler.running
        [text] = await console_posts(app)
        assert "Posted late" in text and "[2026-03-16 1/1]" in text
        assert await console_posts(app, "fridays") == []


async def test_admin_schedules_take_effect_without_a_restart(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "adm.db", MONDAY - timedelta(days=2)) as (app, clock, _):
        await seed_scores(app, {"ana": 50, "bo": 40}, clock.now())
        adapter = app.adapters["console"]
        service = await run_service(app)
        try:
            saved = await adapter.exec_line(  # type: ignore[attr-defined]
                "/kloutadmin schedule weekly mon 09:00 Europe/Berlin 5")
            assert "Saved" in saved
            await service.sweep()  # the next minute's sweep
            [dest] = await app.store.leaderboards.destinations()
            assert (dest.source, dest.top) == ("settings", 5)
            assert service.scheduler.get_job(f"leaderboard-post-{dest.id}") is not None
            clock.set(MONDAY)
            await service.post_due()  # what the cron job does at 09:00
            assert len(await console_posts(app)) == 1
            await adapter.exec_line("/kloutadmin unschedule")  # type: ignore[attr-defined]
            await service.sweep()
            assert await app.store.leaderboards.destinations() == []
            assert service.scheduler.get_job(f"leaderboard-post-{dest.id}") is None
        finally:
            await service.stop()


async def test_rescore_runs_never_overlap(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "r.db", MONDAY) as (app, _, _):
        adapter = app.adapters["console"]
        for line in ("post hi", "/as bo", "reply #1 hey", "react #1", "/as cy", "reply #1 yo"):
            await adapter.exec_line(line)  # type: ignore[attr-defined]
        job = RescoreJob(app.store, app.rescorer)
        first = asyncio.create_task(job.run(MONDAY))
        await asyncio.sleep(0)  # one loop turn: the first run takes its lock at once
        assert job.running
        assert await job.run(MONDAY) is None
        results = await asyncio.wait_for(first, timeout=30)
        assert results is not None and [r.members for r in results] == [3]
        assert (job.runs, job.overlaps_refused) == (1, 1)
        # Nothing new since: the next run leaves the community alone.
        assert await job.run(MONDAY + timedelta(hours=1)) == []


async def test_history_older_than_the_retention_window_is_pruned(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "p.db", MONDAY) as (app, _, _):
        await seed_scores(app, {"ana": 5, "bo": 7}, MONDAY - timedelta(days=402))
        await seed_scores(app, {"ana": 10}, MONDAY - timedelta(days=401))  # bo leaves
        await seed_scores(app, {"ana": 20}, MONDAY - timedelta(days=399))
        await seed_scores(app, {"ana": 30}, MONDAY)
        # ana's 5 goes; her 10 stays, as it is still her score on the window's first day.
        # bo left before the window: nothing of his is kept.
        assert await prune_history(app.store, MONDAY, 400) == 3
        comm = await app.store.communities.get("console", "test")
        ana = await app.store.accounts.by_external("console", "ana")
        bo = await app.store.accounts.by_external("console", "bo")
        assert comm is not None and ana is not None and bo is not None
        first = int(MONDAY.timestamp()) // 86_400 - 400
        history = await app.store.scores.history(comm.id, ana.id, 0)
        assert history == [(first - 1, 10), (first + 1, 20), (first + 400, 30)]
        assert await app.store.scores.score_on(comm.id, ana.id, first) == 10
        assert await app.store.scores.history(comm.id, bo.id, 0) == []
        assert await prune_history(app.store, MONDAY, 400) == 0
