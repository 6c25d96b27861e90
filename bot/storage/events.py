"""Interaction events, and the batched writer that ingests them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence

from bot.storage.bulk import GraphArrays, load_window
from bot.storage.db import Database
from bot.storage.errors import StorageError
from bot.storage.models import EventRow

log = logging.getLogger(__name__)

_INSERT = (
    "INSERT OR IGNORE INTO events "
    "(community_id, kind, actor_id, target_id, ts, channel, source, weight) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


class EventRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_many(self, rows: Sequence[EventRow]) -> None:
        """Insert in one transaction; duplicates (same source/kind/actor/target) are ignored."""
        if rows:
            await self.db.executemany(_INSERT, rows)  # EventRow is the parameter tuple

    async def remove_source(self, community_id: int, source: str, *, kind: int | None = None,
                            actor_id: int | None = None) -> int:
        """Forget the events of a deleted message, or one removed reaction."""
        sql = "DELETE FROM events WHERE community_id = ? AND source = ?"
        params: list[object] = [community_id, source]
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        if actor_id is not None:
            sql += " AND actor_id = ?"
            params.append(actor_id)
        async with self.db.write() as conn:
            cur = await conn.execute(sql, params)
            return cur.rowcount

    async def author_of(self, community_id: int, source: str) -> int | None:
        """Who posted the message `source` (its plain 'message' event, kind 0)."""
        row = await self.db.fetchone(
            "SELECT actor_id FROM events WHERE community_id = ? AND source = ? AND kind = 0 "
            "LIMIT 1", (community_id, source))
        return int(row[0]) if row else None

    async def count(self, community_id: int) -> int:
        row = await self.db.fetchone(
            "SELECT count(*) FROM events WHERE community_id = ?", (community_id,))
        return int(row[0]) if row else 0

    async def max_id(self, community_id: int) -> int:
        row = await self.db.fetchone(
            "SELECT coalesce(max(id), 0) FROM events WHERE community_id = ?", (community_id,))
        return int(row[0]) if row else 0

    async def load_graph(self, community_id: int, since: int, until: int) -> GraphArrays:
        """Every event of the community with since <= ts <= until, as arrays."""
        return await self.db.run_sync(
            lambda conn: load_window(conn, community_id, since, until))

    async def incoming(self, community_id: int, target_id: int, since_ts: int
                       ) -> list[tuple[int, int, int, float]]:
        """(actor_id, kind, ts, weight) of actions on one member, for explanations."""
        rows = await self.db.fetchall(
            "SELECT actor_id, kind, ts, weight FROM events WHERE target_id = ? "
            "AND community_id = ? AND ts >= ?", (target_id, community_id, since_ts))
        return [(int(r[0]), int(r[1]), int(r[2]), float(r[3])) for r in rows]


class EventWriter:
    """Collects events and writes them in batches from one task.

    Platform handlers call `submit` and return at once; a busy server produces
    one transaction per batch instead of one per event, which is what keeps
    SQLite from ever reporting "database is locked". `flush` waits until
    everything submitted so far is on disk.
    """

    def __init__(self, repo: EventRepository, *, batch_size: int = 500,
                 flush_interval_s: float = 0.2) -> None:
        self.repo = repo
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self._pending: list[EventRow] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._flush_lock = asyncio.Lock()
        self._before_flush: list[Callable[[], Awaitable[None]]] = []
        self.written = 0
        self.failed_batches = 0

    async def __aenter__(self) -> EventWriter:
        self._task = asyncio.create_task(self._run(), name="event-writer")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    def submit(self, rows: Iterable[EventRow]) -> None:
        self._pending.extend(rows)
        if len(self._pending) >= self.batch_size:
            self._wakeup.set()

    def before_flush(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run `hook` at the start of every flush: a producer that queues work which is not
        rows yet (activities whose accounts are new) turns it into rows there, so `flush`
        still means "everything submitted so far is on disk"."""
        self._before_flush.append(hook)

    def wake(self) -> None:
        """Flush soon instead of at the next interval."""
        self._wakeup.set()

    async def flush(self) -> int:
        """Write everything pending now; returns the number of rows written."""
        async with self._flush_lock:
            for hook in self._before_flush:
                await hook()
            batch, self._pending = self._pending, []
            if not batch:
                return 0
            try:
                await self.repo.add_many(batch)
            except StorageError:
                # Keep the rows: the next flush retries them, so a transient lock loses nothing.
                self._pending[:0] = batch
                self.failed_batches += 1
                raise
            self.written += len(batch)
            return len(batch)

    async def _run(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that
            # arrives while the event is being set, which hung shutdown.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.flush_interval_s):
                    await self._wakeup.wait()
            self._wakeup.clear()
            try:
                await self.flush()
            except StorageError as exc:
                log.error("event batch not written, will retry: %s", exc)
