"""A rescore's read and numpy work in a process of its own.

In threads of the bot's process (bulk reads, score_arrays), a rescore at 10k-100k
members competes with the event loop for the GIL: a burst of /klout cards that costs
~7 ms of loop CPU took 20-80 ms of wall time while one ran. Here the read and the
scoring run in one worker process (spawned, so it inherits no threads or connections),
on a read-only connection of its own, at a lower CPU priority than the bot; only the
score table crosses back, as a few numpy arrays. The bot's process writes it as before.

A worker that dies (killed, out of memory) breaks the pool: that rescore runs in
threads as before, the failure is logged, and the next rescore starts a fresh worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace

import numpy as np

from bot.storage.bulk import FactArrays, GraphArrays, load_facts, load_window, reader
from bot.storage.rescore_writes import write_rescore_blocking
from bot.storage.scores import ScoreTable
from bot.storage.vouches import load_seeds
from scoring.config import ScoringConfig
from scoring.engine import AccountFacts, InteractionArrays, ScoreArrays, score_arrays

log = logging.getLogger(__name__)
# Nice increment of the worker: the bot's loop gets a core first when both want one.
WORKER_NICE = 19
# Connections reading at once in the worker: one, so the rescore never takes both cores
# of the machines we target from the bot's loop.
WORKER_THREADS = 1


@dataclass(frozen=True)
class Scored:
    """What a rescore computed, ready to be written."""

    table: ScoreTable
    members: int
    events: int
    events_seen: int
    converged: bool
    model_version: str
    stages: dict[str, float]
    cpu: dict[str, float]


def score_graph(graph: GraphArrays, facts: FactArrays, now: float, config: ScoringConfig,
                on_stage: Callable[[str], None] | None = None
                ) -> tuple[ScoreTable, int, ScoreArrays]:
    """Score a read community: (its score table, scored members, the engine's result)."""
    arrays = InteractionArrays(graph.actor, graph.target, graph.kind, graph.ts,
                               len(graph.account_ids), graph.weight)
    result = score_arrays(arrays, AccountFacts(facts.is_bot, facts.followers, facts.listed,
                                               facts.created, facts.seed),
                          now, config, on_stage=on_stage)
    ids = graph.account_ids
    # Highest raw first; a stable sort keeps equal raws in account id order (ids are
    # sorted). Bots neither give nor receive, and get no row.
    order = np.argsort(-result.raw, kind="stable")
    order = order[~facts.is_bot[order]]
    rank = np.zeros(len(ids), dtype=np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    kept = ~facts.is_bot
    table = ScoreTable(ids[kept], result.score[kept], result.raw[kept],
                       result.give_rate[kept], rank[kept])
    return table, len(order), result


def compute(path: str, timeout_s: float, community_id: int, since: int, now: float,
            config: ScoringConfig) -> Scored:
    """In the worker: read the window and score it."""
    stages = Stages()
    with reader(path, timeout_s) as conn:
        graph = load_window(conn, community_id, since, int(now), threads=WORKER_THREADS)
        stages.mark("read")
        facts = replace(load_facts(conn, graph.account_ids),
                        seed=load_seeds(conn, community_id, graph.account_ids))
        stages.mark("facts")
    table, members, result = score_graph(graph, facts, now, config, stages.mark)
    return Scored(table, members, graph.events, graph.max_event_id, result.converged,
                  result.model_version, stages.seconds, stages.cpu)


def _start_worker() -> ProcessPoolExecutor:
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_lower_priority)
    pool.submit(int).result()
    return pool


def _lower_priority() -> None:
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICE)


class RescoreWorker:
    """One worker process, started on first use and kept for the next rescores."""

    def __init__(self, path: str, timeout_s: float) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False
        self.crashes = 0

    @property
    def usable(self) -> bool:
        return not self._closed and self.path != ":memory:"

    async def compute(self, community_id: int, since: int, now: float,
                      config: ScoringConfig) -> Scored | None:
        """The scored community, or None when the worker failed (logged; the caller
        rescores in threads)."""
        if not self.usable:
            return None
        pool = await self.start()
        if pool is None:
            log.warning("rescoring community %s in this process", community_id)
            return None
        try:
            return await asyncio.wrap_future(pool.submit(
                compute, self.path, self.timeout_s, community_id, since, now, config))
        except BrokenProcessPool:
            await self._broken(pool, community_id)
            return None

    async def start(self) -> ProcessPoolExecutor | None:
        """Start the worker unless it runs (the app does at open when a community is big
        enough: starting it costs the bot's process a stall of tens of ms, better paid
        before the first request than during a burst). None if it cannot start."""
        if self._pool is not None or not self.usable:
            return self._pool
        try:  # starting the process forks this one: off the loop's thread
            started = await asyncio.to_thread(_start_worker)
        except (OSError, BrokenProcessPool) as exc:
            log.warning("could not start the rescore worker process: %s", exc)
            return None
        if self._closed or self._pool is not None:
            await asyncio.to_thread(started.shutdown, wait=True)
            return self._pool
        self._pool = started
        return started

    async def write(self, community_id: int, scored: Scored, computed_at: int) -> bool:
        """Write a rescore from the worker too: the bot's process only holds its write
        lock meanwhile. False when the worker failed (logged; the caller writes it)."""
        pool = self._pool
        if pool is None or not self.usable:
            return False
        try:
            await asyncio.wrap_future(pool.submit(
                write_rescore_blocking, self.path, self.timeout_s, community_id,
                scored.table, scored.model_version, computed_at, scored.events_seen))
        except sqlite3.Error as exc:
            log.warning("the rescore worker could not write community %s (%s); writing "
                        "it from this process", community_id, exc)
            return False
        except BrokenProcessPool:
            await self._broken(pool, community_id)
            return False
        return True

    async def _broken(self, pool: ProcessPoolExecutor, community_id: int) -> None:
        self.crashes += 1
        log.warning("the rescore worker process of %s died; rescoring community %s in "
                    "this process, and starting a new worker next time", self.path,
                    community_id)
        if self._pool is pool:
            self._pool = None
        await asyncio.to_thread(pool.shutdown, wait=True)

    async def close(self) -> None:
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


class Stages:
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
