"""The scheduler service of `klout-bot run`: when to rescore, prune and post.

APScheduler (3.x AsyncIOScheduler, in UTC) only triggers; the decisions live in
LeaderboardPoster.tick, RescoreJob.run and prune_history, which take `now` from the
app's clock. Jobs:

* rescore          every [scoring] rescore_interval_minutes; max_instances=1 and
                   coalesce, so runs never overlap or pile up after a pause;
* prune-history    daily at 03:17 UTC, keeping [scoring] history_retention_days;
* leaderboard-sweep every minute and once at start: re-reads schedules (config and
                   /kloutadmin schedule), re-syncs the per-destination jobs, and ticks
                   (catch-up after downtime, retries, recovery after a crash);
* leaderboard-post-<id> one CronTrigger per destination in its own time zone, so a post
                   goes out on the minute.

The scheduler's own time zone is UTC on purpose: APScheduler 3 computes the next fire
time from "now" in the scheduler's zone, and a local "now" inside a DST gap can make
that computation loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.leaderboards.poster import Outcome, schedule_of
from bot.leaderboards.schedule import WEEKDAYS, Schedule
from bot.services.periodic import RescoreJob, prune_history

if TYPE_CHECKING:
    from bot.app import KloutApp

log = logging.getLogger(__name__)
SWEEP = timedelta(minutes=1)
STOP_TIMEOUT_S = 10.0
_JOB_PREFIX = "leaderboard-post-"


def cron_trigger(schedule: Schedule) -> CronTrigger:
    """The APScheduler trigger of a weekly schedule, in the schedule's own zone."""
    return CronTrigger(day_of_week=WEEKDAYS[schedule.weekday], hour=schedule.hour,
                       minute=schedule.minute, timezone=schedule.zone)


class SchedulerService:
    def __init__(self, app: KloutApp) -> None:
        self.app = app
        self.rescore = RescoreJob(app.store, app.rescorer)
        self.scheduler = AsyncIOScheduler(timezone=UTC, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": 3600})
        self._running: set[asyncio.Task[None]] = set()
        # Set after every sweep, so tests wait on it instead of sleeping.
        self.swept = asyncio.Event()

    async def start(self) -> None:
        app = self.app
        await app.leaderboards.sync_config(app.config.leaderboard, app.clock.now())
        interval = app.config.scoring.rescore_interval_minutes
        self.scheduler.add_job(self._guard(self.run_rescore), IntervalTrigger(
            minutes=interval, timezone=UTC), id="rescore", name="rescore")
        self.scheduler.add_job(self._guard(self.run_prune), CronTrigger(
            hour=3, minute=17, timezone=UTC), id="prune-history", name="prune-history")
        self.scheduler.add_job(self._guard(self.sweep), IntervalTrigger(
            seconds=SWEEP.total_seconds(), timezone=UTC), id="leaderboard-sweep",
            name="leaderboard-sweep")
        self.scheduler.start()
        # The first sweep (catch-up after downtime) runs now, not a minute from now.
        startup = asyncio.create_task(self._guard(self.startup_sweep)(), name="startup-sweep")
        self._running.add(startup)
        startup.add_done_callback(self._running.discard)

    async def stop(self) -> None:
        """Let running jobs finish (a post half sent is recovered anyway), then stop."""
        if self.scheduler.running:
            self.scheduler.pause()
        if self._running:
            _, pending = await asyncio.wait(set(self._running), timeout=STOP_TIMEOUT_S)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the next loop turn

    async def run_rescore(self) -> None:
        await self.rescore.run(self.app.clock.now())

    async def run_prune(self) -> None:
        await prune_history(self.app.store, self.app.clock.now(),
                            self.app.config.scoring.history_retention_days)

    async def sweep(self) -> list[Outcome]:
        now = self.app.clock.now()
        try:
            await self.app.leaderboards.sync_settings(now)
            await self.sync_jobs()
            return await self.app.leaderboards.tick(now)
        finally:
            self.swept.set()

    async def startup_sweep(self) -> None:
        outcomes = await self.sweep()
        counts = Counter(o.action for o in outcomes)
        log.info("startup sweep done: %s leaderboard destination(s); %s", len(outcomes),
                 ", ".join(f"{n} {action}" for action, n in sorted(counts.items())) or "idle")

    async def post_due(self) -> None:
        await self.app.leaderboards.tick(self.app.clock.now())

    async def sync_jobs(self) -> None:
        """One cron job per enabled destination; changed schedules replace their job."""
        wanted = {}
        for dest in await self.app.store.leaderboards.destinations():
            wanted[f"{_JOB_PREFIX}{dest.id}"] = schedule_of(dest)
        for job in self.scheduler.get_jobs():
            if job.id.startswith(_JOB_PREFIX) and job.id not in wanted:
                job.remove()
        for job_id, schedule in wanted.items():
            job = self.scheduler.get_job(job_id)
            if job is not None and job.name == schedule.describe():
                continue
            self.scheduler.add_job(self._guard(self.post_due), cron_trigger(schedule),
                                   id=job_id, name=schedule.describe(),
                                   replace_existing=True)

    def _guard(self, work: Callable[[], Awaitable[object]]
               ) -> Callable[[], Coroutine[Any, Any, None]]:
        """Track the job (for stop) and log its failure in one line with the cause."""
        async def job() -> None:
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                await work()
            except Exception:
                log.exception("scheduled job %s failed", getattr(work, "__name__", work))
            finally:
                if task is not None:
                    self._running.discard(task)

        job.__name__ = getattr(work, "__name__", "job")
        return job


async def start(app: KloutApp) -> Callable[[], Awaitable[None]]:
    service = SchedulerService(app)
    await service.start()
    return service.stop
