"""Full rescore of a community: read from storage, score, write back."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.services.rescore_worker import RescoreWorker, Scored, Stages, score_graph
from bot.storage import Storage
from scoring.config import MODEL_VERSION, ScoringConfig

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

    def __init__(self, store: Storage, config: ScoringConfig, *,
                 worker: RescoreWorker | None = None, process_min_members: int = 0) -> None:
        self.store = store
        self.config = config
        # Communities of at least process_min_members scored members are read, scored
        # and written by the worker process (bot/services/rescore_worker.py); the small
        # ones, where starting it would cost more than it saves, in threads.
        self.worker = worker
        self.process_min_members = process_min_members
        self._members: dict[int, int] = {}  # community id -> scored members, last seen
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
        """Rescore when events arrived since the last run, or when the stored scores come
        from another model version (an upgrade: every score is recomputed at the first
        check, at start-up, instead of old and new scores being mixed). Cheap checks, made
        under the lock: a rescore that was running meanwhile may have covered them."""
        lock = self._locks.setdefault(community_id, asyncio.Lock())
        async with lock:
            seen = await self.store.events.max_id(community_id)
            state = await self.store.scores.rescore_state(community_id)
            if state is not None and state[1] >= seen and now - state[0] < DAY:
                stored = await self.store.scores.stored_model_version(community_id)
                if stored is None or stored == MODEL_VERSION:
                    return None
                log.info("community %s holds scores of model %s: rescoring with %s",
                         community_id, stored, MODEL_VERSION)
            result = await self._rescore(community_id, now)
        await self._rescored(result)
        return result

    async def _rescore(self, community_id: int, now: float) -> RescoreResult:
        stages = Stages()
        since = int(now - self.config.window_days * DAY)
        scored = None
        if self.worker is not None and await self._big(community_id):
            await self.store.events.fold()
            scored = await self.worker.compute(community_id, since, now, self.config)
            if scored is not None:
                stages.seconds.update(scored.stages)
                stages.cpu.update(scored.cpu)
                stages.last, stages.last_cpu = time.perf_counter(), time.process_time()
        in_worker = scored is not None
        if scored is None:
            scored = await self._score_here(community_id, since, now, stages)
        self._members[community_id] = scored.members
        written = False
        if in_worker and self.worker is not None:
            async with self.store.db.write_elsewhere():
                written = await self.worker.write(community_id, scored, int(now))
        if not written:
            await self.store.scores.replace_table(community_id, scored.table,
                                                  scored.model_version, int(now),
                                                  scored.events_seen)
        stages.mark("write")
        log.info("rescored community %s: %s members, %s events in %.2fs (%s)", community_id,
                 scored.members, scored.events, stages.total, stages)
        return RescoreResult(community_id, scored.members, scored.events, stages.total,
                             scored.converged, stages.seconds, stages.cpu)

    async def _big(self, community_id: int) -> bool:
        members = self._members.get(community_id)
        if members is None:  # once per community: its stored scores, one index count
            members = self._members[community_id] = await self.store.scores.total(
                community_id)
        return members >= self.process_min_members

    async def _score_here(self, community_id: int, since: int, now: float,
                          stages: Stages) -> Scored:
        """Read and score in threads of this process."""
        graph = await self.store.events.load_graph(community_id, since, int(now))
        stages.mark("read")
        facts = await self.store.accounts.fact_arrays(graph.account_ids, community_id)
        stages.mark("facts")
        # Seconds of numpy work: off the event loop, so the bot keeps answering meanwhile.
        table, members, result = await asyncio.to_thread(
            score_graph, graph, facts, now, self.config, stages.mark)
        return Scored(table, members, graph.events, graph.max_event_id, result.converged,
                      result.model_version, {}, {})

    async def start(self) -> None:
        """Start the worker process now if a stored community is big enough for it."""
        if (self.worker is not None and self.worker.usable
                and await self.store.scores.largest_board() >= self.process_min_members):
            await self.worker.start()

    async def close(self) -> None:
        if self.worker is not None:
            await self.worker.close()
