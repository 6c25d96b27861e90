"""Work the scheduler repeats: rescoring every community and pruning old history.

Each is a plain coroutine taking `now`, so tests run them with a fixed clock;
bot.scheduler only decides when.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from bot.services.rescore import Rescorer, RescoreResult
from bot.storage import Storage

log = logging.getLogger(__name__)
DAY_S = 86_400


class RescoreJob:
    """Rescore every community. A run that starts while another is still going returns
    at once (the scheduler's max_instances=1 says the same; this also covers a manual
    trigger), and the Rescorer's per-community lock keeps /rescore out of the way."""

    def __init__(self, store: Storage, rescorer: Rescorer) -> None:
        self.store = store
        self.rescorer = rescorer
        self._running = asyncio.Lock()
        self.runs = 0
        self.overlaps_refused = 0

    @property
    def running(self) -> bool:
        return self._running.locked()

    async def run(self, now: datetime) -> list[RescoreResult] | None:
        """Results per rescored community; None when a run was already in progress."""
        if self._running.locked():
            self.overlaps_refused += 1
            log.warning("rescore still running; this run is skipped")
            return None
        async with self._running:
            self.runs += 1
            results = []
            for community in await self.store.communities.all():
                try:
                    result = await self.rescorer.rescore_if_stale(community.id, now.timestamp())
                except Exception:
                    log.exception("rescoring %s %s failed", community.platform,
                                  community.external_id)
                    continue
                if result is not None:
                    results.append(result)
            return results


async def prune_history(store: Storage, now: datetime, retention_days: int) -> int:
    """Drop score history older than the retention window (each member keeps the row that
    still gives their score on its first day); returns rows removed."""
    before = int(now.timestamp()) // DAY_S - retention_days
    removed = await store.scores.prune_history(before)
    if removed:
        log.info("pruned %s score history rows older than %s days", removed, retention_days)
    return removed
