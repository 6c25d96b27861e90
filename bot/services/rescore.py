"""Full rescore of a community: read from storage, score, write back."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np

from bot.storage import Storage
from bot.storage.scores import ScoreTable
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
    # Wall seconds per stage: read, facts, aggregate, propagate, map, write.
    stages: dict[str, float] = field(default_factory=dict)
    # CPU seconds of the whole process (every thread) during each stage: on a shared
    # machine wall time depends on who else has the cores; CPU time much less.
    cpu: dict[str, float] = field(default_factory=dict)


class Rescorer:
    """Recomputes scores. One rescore per community runs at a time."""

    def __init__(self, store: Storage, config: ScoringConfig) -> None:
        self.store = store
        self.config = config
        self._locks: dict[int, asyncio.Lock] = {}
        # Called after every finished rescore, whoever asked for it (the scheduler, a
        # command): e.g. the Discord adapter's tier role rewards. Failures are logged.
        self.listeners: list[Callable[[RescoreResult], Awaitable[None]]] = []

    def is_running(self, community_id: int) -> bool:
        lock = self._locks.get(community_id)
        return lock is not None and lock.locked()

    async def rescore(self, community_id: int, now: float) -> RescoreResult:
        lock = self._locks.setdefault(community_id, asyncio.Lock())
        async with lock:
            result = await self._rescore(community_id, now)
        await self._rescored(result)
        return result

    async def _rescored(self, result: RescoreResult) -> None:
        community_id = result.community_id
        for listener in list(self.listeners):
            try:
                await listener(result)
            except Exception:
                log.exception("after-rescore step %s failed for community %s",
                              getattr(listener, "__qualname__", listener), community_id)

    async def rescore_if_stale(self, community_id: int, now: float) -> RescoreResult | None:
        """Rescore when events arrived since the last run (cheap check). Checked under
        the lock: a rescore that was running meanwhile may have covered them."""
        lock = self._locks.setdefault(community_id, asyncio.Lock())
        async with lock:
            seen = await self.store.events.max_id(community_id)
            state = await self.store.scores.rescore_state(community_id)
            if state is not None and state[1] >= seen and now - state[0] < DAY:
                return None
            result = await self._rescore(community_id, now)
        await self._rescored(result)
        return result

    async def _rescore(self, community_id: int, now: float) -> RescoreResult:
        stages = _Stages()
        since = int(now - self.config.window_days * DAY)
        graph = await self.store.events.load_graph(community_id, since, int(now))
        events, events_seen = graph.events, graph.max_event_id
        stages.mark("read")
        ids = graph.account_ids
        facts = await self.store.accounts.fact_arrays(ids)
        stages.mark("facts")
        arrays = InteractionArrays(graph.actor, graph.target, graph.kind, graph.ts, len(ids),
                                   graph.weight)
        # Seconds of numpy work: off the event loop, so the bot keeps answering meanwhile.
        result = await asyncio.to_thread(
            score_arrays, arrays, AccountFacts(facts.is_bot, facts.followers, facts.listed,
                                            facts.created),
            now, self.config, on_stage=stages.mark)
        del arrays, graph
        # Highest raw first; a stable sort keeps equal raws in account id order (ids
        # are sorted). Bots neither give nor receive, and get no row.
        order = np.argsort(-result.raw, kind="stable")
        order = order[~facts.is_bot[order]]
        rank = np.zeros(len(ids), dtype=np.int64)
        rank[order] = np.arange(1, len(order) + 1)
        kept = ~facts.is_bot
        table = ScoreTable(ids[kept], result.score[kept], result.raw[kept],
                           result.give_rate[kept], rank[kept])
        await self.store.scores.replace_table(community_id, table, result.model_version,
                                              int(now), events_seen)
        stages.mark("write")
        log.info("rescored community %s: %s members, %s events in %.2fs (%s)", community_id,
                 len(order), events, stages.total, stages)
        return RescoreResult(community_id, len(order), events, stages.total, result.converged,
                             stages.seconds, stages.cpu)


class _Stages:
    """Wall time of each stage of a rescore, in order."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.last_cpu = time.process_time()
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def mark(self, stage: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        self.seconds[stage] = now - self.last
        self.cpu[stage] = cpu - self.last_cpu
        self.last, self.last_cpu = now, cpu

    @property
    def total(self) -> float:
        return self.last - self.started

    def __str__(self) -> str:
        return ", ".join(f"{name} {s:.2f}s" for name, s in self.seconds.items())
