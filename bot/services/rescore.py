"""Full rescore of a community: read from storage, score, write back."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import numpy as np

from bot.storage import Storage
from scoring.config import ScoringConfig
from scoring.engine import AccountFacts, InteractionArrays, score_arrays

log = logging.getLogger(__name__)
DAY = 86_400


@dataclass(frozen=True, slots=True)
class RescoreResult:
    community_id: int
    members: int
    events: int
    seconds: float
    converged: bool


class Rescorer:
    """Recomputes scores. One rescore per community runs at a time."""

    def __init__(self, store: Storage, config: ScoringConfig) -> None:
        self.store = store
        self.config = config
        self._locks: dict[int, asyncio.Lock] = {}

    def is_running(self, community_id: int) -> bool:
        lock = self._locks.get(community_id)
        return lock is not None and lock.locked()

    async def rescore(self, community_id: int, now: float) -> RescoreResult:
        lock = self._locks.setdefault(community_id, asyncio.Lock())
        async with lock:
            return await self._rescore(community_id, now)

    async def rescore_if_stale(self, community_id: int, now: float) -> RescoreResult | None:
        """Rescore when events arrived since the last run (cheap check)."""
        seen = await self.store.events.max_id(community_id)
        state = await self.store.scores.rescore_state(community_id)
        if state is not None and state[1] >= seen and now - state[0] < DAY:
            return None
        return await self.rescore(community_id, now)

    async def _rescore(self, community_id: int, now: float) -> RescoreResult:
        started = time.perf_counter()
        since = int(now - self.config.window_days * DAY)
        graph = await self.store.events.load_graph(community_id, since, int(now))
        ids = graph.account_ids
        facts_rows = await self.store.accounts.facts(ids.tolist())
        n = len(ids)
        is_bot = np.zeros(n, dtype=bool)
        followers = np.full(n, np.nan)
        listed = np.full(n, np.nan)
        position = {int(a): i for i, a in enumerate(ids.tolist())}
        for account_id, bot, fol, lst in facts_rows:
            i = position[account_id]
            is_bot[i] = bot
            if fol is not None:
                followers[i] = fol
            if lst is not None:
                listed[i] = lst
        arrays = InteractionArrays(graph.actor, graph.target, graph.kind, graph.ts, n,
                                   graph.weight)
        result = score_arrays(arrays, AccountFacts(is_bot, followers, listed), now, self.config)
        keep = ~is_bot
        order = np.lexsort((ids, -result.raw))
        order = order[keep[order]]
        rows = [
            (int(ids[i]), int(result.score[i]), float(result.raw[i]), rank + 1,
             float(result.give_rate[i]))
            for rank, i in enumerate(order.tolist())
        ]
        await self.store.scores.replace_all(community_id, rows, result.model_version, int(now),
                                            graph.max_event_id)
        seconds = time.perf_counter() - started
        log.info("rescored community %s: %s members, %s events in %.2fs", community_id,
                 len(rows), graph.events, seconds)
        return RescoreResult(community_id, len(rows), graph.events, seconds, result.converged)
