"""Daily privacy housekeeping: purge communities the bot was removed from once their
grace period is over, and delete events past their retention.

`klout-bot run` starts it (bot/runner.py SERVICES). It runs once at startup and then
every day; purging is idempotent, so a scheduler that also calls
`purge_removed_communities` daily does no harm.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.services.privacy import apply_retention, purge_removed_communities

if TYPE_CHECKING:
    from bot.app import KloutApp

log = logging.getLogger(__name__)
DAY_S = 86_400.0


class PurgeLoop:
    def __init__(self, app: KloutApp, period_s: float = DAY_S) -> None:
        self.app = app
        self.period_s = period_s
        self.grace = timedelta(days=app.config.privacy.removed_grace_days)
        self.runs = 0
        self.purged = 0
        # Set after every run, so tests wait on it instead of sleeping.
        self.ran = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="privacy-purge")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def run_once(self) -> int:
        now = self.app.clock.now()
        purged = await purge_removed_communities(self.app.store, now, self.grace)
        await apply_retention(self.app.store, now, self.app.config.privacy.events_retention_days)
        self.runs += 1
        self.purged += purged
        self.ran.set()
        return purged

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("privacy purge failed; retrying in %.0f s", self.period_s)
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.period_s):
                    await self._stop.wait()


async def start(app: KloutApp) -> Callable[[], Awaitable[None]]:
    loop = PurgeLoop(app)
    loop.start()
    return loop.stop
