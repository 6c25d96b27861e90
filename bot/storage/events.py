"""Interaction events, and the batched writer that ingests them.

Ingestion goes through an inbox (migration 0008): the writer appends small batches to
`event_inbox`, which has no secondary index, and folds the inbox into `events` every
`fold_rows` rows or `fold_interval_s` seconds, in one INSERT ... SELECT that SQLite
runs without the GIL. Reads that must see everything fold first (see `fold`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence

import aiosqlite

from bot.storage.bulk import GraphArrays, load_window
from bot.storage.db import Database
from bot.storage.errors import StorageError
from bot.storage.models import EventRow
from bot.storage.poison import store_isolating
from bot.storage.reads import Read, rows

log = logging.getLogger(__name__)

_COLUMNS = "community_id, kind, actor_id, target_id, ts, channel, source, weight"
_INSERT = f"INSERT OR IGNORE INTO events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
APPEND_ROWS = 50
# The source of a row that `append_now` numbers as a new post (never a real source).
NEW_POST = "#new"
_APPEND_COLUMNS = EventRow._fields


@functools.cache
def _append_sql(rows: int) -> str:
    values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * rows)
    return f"INSERT INTO event_inbox ({_COLUMNS}) VALUES {values}"


# Arrival order, so the first of two duplicates is the one kept, as without an inbox.
_FOLD = (f"INSERT OR IGNORE INTO events ({_COLUMNS}) "
         f"SELECT {_COLUMNS} FROM event_inbox WHERE id <= ? ORDER BY id")
_FOLDED = "DELETE FROM event_inbox WHERE id <= ?"
# Rows per fold transaction: bounds how long one fold holds the write lock (~0.1-0.3 s).
FOLD_CHUNK = 50_000
FOLD_CACHE_KIB = -65_536  # negative: KiB, so 64 MiB


async def fold_inbox(conn: aiosqlite.Connection, limit: int | None = None) -> tuple[int, bool]:
    """Inside a write transaction: move the oldest inbox rows (at most `limit`) into
    events. Returns (rows taken from the inbox, whether the inbox is now empty)."""
    cur = await conn.execute("SELECT min(id), max(id) FROM event_inbox")
    row = await cur.fetchone()
    if row is None or row[1] is None:
        return 0, True
    low, high = int(row[0]), int(row[1])
    upto = high if limit is None else min(high, low + limit - 1)
    # A fold inserts into events_target at random pages (and into events_actor, before
    # migration 0010); with SQLite's default 2 MB cache most were read back from the OS
    # again and again (50k rows/s instead of 200k). Only for the fold: a cache kept that
    # large would hold on to 64 MB after every rescore write.
    cur = await conn.execute("PRAGMA cache_size")
    row = await cur.fetchone()
    cache = int(row[0]) if row else -2000
    await conn.execute(f"PRAGMA cache_size = {FOLD_CACHE_KIB}")
    try:
        await conn.execute(_FOLD, (upto,))
    finally:
        await conn.execute(f"PRAGMA cache_size = {cache}")
    # Zeroed, not just freed: a forget later erases the folded copy in events, and no
    # stale copy may stay readable in the inbox's pages (costs ~0.1 us a row).
    cur = await conn.execute("PRAGMA secure_delete")
    row = await cur.fetchone()
    previous = int(row[0]) if row else 0
    await conn.execute("PRAGMA secure_delete = ON")
    try:
        if upto == high:
            # Emptied as a whole, SQLite zeroes the pages; deleting cell by cell can leave
            # copies behind in pages the b-tree rebalanced.
            cur = await conn.execute("SELECT count(*) FROM event_inbox")
            row = await cur.fetchone()
            moved = int(row[0]) if row else 0
            await conn.execute("DELETE FROM event_inbox")
        else:
            moved = (await conn.execute(_FOLDED, (upto,))).rowcount
    finally:
        await conn.execute(f"PRAGMA secure_delete = {previous}")
    return moved, upto == high


async def _last_post_number(conn: aiosqlite.Connection, community_id: int,
                            channel: str) -> int:
    """Inside a write transaction: the highest post number in `channel`, folded or not
    (the console numbers its posts #1, #2, ...; other sources, such as the demo's "m12",
    are not numbers)."""
    highest = 0
    for table in ("events", "event_inbox"):
        cur = await conn.execute(
            f"SELECT coalesce(max(CAST(source AS INTEGER)), 0) FROM {table} "
            "WHERE community_id = ? AND kind = 0 AND channel = ? AND source GLOB '[0-9]*'",
            (community_id, channel))
        row = await cur.fetchone()
        highest = max(highest, int(row[0]) if row else 0)
    return highest


def incoming(community_id: int, target_id: int, since_ts: int
             ) -> Read[list[tuple[int, int, int, float]]]:
    """See EventRepository.incoming."""
    # Left to itself the planner prefers the covering events_rescore, i.e. a walk of
    # every event of the community's window (200 us at 6k events, seconds at millions)
    # over the member's own few rows (15 us).
    return rows(
        "SELECT actor_id, kind, ts, weight FROM events INDEXED BY events_target "
        "WHERE target_id = ? "
        "AND community_id = ? AND ts >= ?", (target_id, community_id, since_ts),
        lambda found: [(int(r[0]), int(r[1]), int(r[2]), float(r[3])) for r in found])


class EventRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        # Whether the inbox may hold rows. Unknown after a start (a crash may have left
        # some), so the first fold looks; afterwards appends and folds keep it exact.
        # A read-only open (status, exports) cannot fold and reads events as they are.
        self._inbox_dirty = not db.read_only
        # Called with the ids of the communities whose events were just stored or
        # removed (bot/services/freshness.py rescores them soon).
        self.changed: list[Callable[[Iterable[int]], None]] = []

    def _notify(self, community_ids: Iterable[int]) -> None:
        for listener in self.changed:
            listener(community_ids)

    async def add_many(self, rows: Sequence[EventRow]) -> None:
        """Insert in one transaction; duplicates (same source/kind/actor/target) are ignored."""
        if rows:
            await self.db.executemany(_INSERT, rows)  # EventRow is the parameter tuple
            self._notify({row[0] for row in rows})

    async def append(self, rows: Sequence[EventRow]) -> None:
        """Queue rows in the inbox (durable at once; deduplicated when folded)."""
        if not rows:
            return
        # APPEND_ROWS rows per statement: executemany steps (and hands the GIL back and
        # forth) once per row, which cost twice as much as the insert itself.
        full, rest = divmod(len(rows), APPEND_ROWS)
        flat = tuple(itertools.chain.from_iterable(rows))
        width = APPEND_ROWS * len(_APPEND_COLUMNS)
        groups = [flat[i * width:(i + 1) * width] for i in range(full)]
        async with self.db.write() as conn:
            self._inbox_dirty = True
            if groups:
                await conn.executemany(_append_sql(APPEND_ROWS), groups)
            if rest:
                await conn.execute(_append_sql(rest), flat[full * width:])
        self._notify({row[0] for row in rows})

    async def fold(self) -> int:
        """Move every inbox row into events; returns how many rows left the inbox."""
        total = 0
        while self._inbox_dirty:
            try:
                async with self.db.write() as conn:
                    moved, empty = await fold_inbox(conn, FOLD_CHUNK)
                    # Set under the write lock: no append can slip in between.
                    self._inbox_dirty = not empty
            except BaseException:
                self._inbox_dirty = True  # a failed commit folded nothing
                raise
            total += moved
        return total

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
        try:
            async with self.db.write() as conn:
                # Whatever sits in the inbox goes first, or it would outlive the delete.
                if self._inbox_dirty:
                    await fold_inbox(conn)
                    self._inbox_dirty = False
                cur = await conn.execute(sql, params)
                if cur.rowcount:
                    # Fewer events, same highest id: make the next rescore_if_stale run.
                    await conn.execute("UPDATE rescore_state SET events_seen = -1 "
                                       "WHERE community_id = ?", (community_id,))
        except BaseException:
            self._inbox_dirty = True
            raise
        if cur.rowcount:
            self._notify((community_id,))
        return cur.rowcount

    async def author_of(self, community_id: int, source: str) -> int | None:
        """Who posted the message `source` (its plain 'message' event, kind 0)."""
        await self.fold()
        row = await self.db.fetchone(
            "SELECT actor_id FROM events WHERE community_id = ? AND source = ? AND kind = 0 "
            "LIMIT 1", (community_id, source))
        return int(row[0]) if row else None

    async def count(self, community_id: int) -> int:
        await self.fold()
        row = await self.db.fetchone(
            "SELECT count(*) FROM events WHERE community_id = ?", (community_id,))
        return int(row[0]) if row else 0

    async def max_id(self, community_id: int) -> int:
        await self.fold()
        row = await self.db.fetchone(
            "SELECT coalesce(max(id), 0) FROM events WHERE community_id = ?", (community_id,))
        return int(row[0]) if row else 0

    async def append_now(self, rows: Sequence[EventRow], channel: str = "") -> int | None:
        """Write one action's rows to the inbox in one transaction, so they are either
        all stored when this returns or, if it raises, none are (and none are left
        queued). Rows whose source is NEW_POST are a new post in `channel`: they get the
        channel's next post number, taken in the same transaction, so two processes on
        one database never hand out the same number. Returns that number, if any."""
        if not rows:
            return None
        async with self.db.write() as conn:
            number = None
            if any(row.source == NEW_POST for row in rows):
                number = await _last_post_number(conn, rows[0].community_id, channel) + 1
                rows = [row._replace(source=str(number)) if row.source == NEW_POST else row
                        for row in rows]
            self._inbox_dirty = True
            await conn.executemany(_append_sql(1), rows)
        return number

    async def load_graph(self, community_id: int, since: int, until: int) -> GraphArrays:
        """Every event of the community with since <= ts <= until, as arrays."""
        await self.fold()
        return await self.db.run_sync(
            lambda conn: load_window(conn, community_id, since, until))

    async def incoming(self, community_id: int, target_id: int, since_ts: int
                       ) -> list[tuple[int, int, int, float]]:
        """(actor_id, kind, ts, weight) of actions on one member, for explanations.
        Doesn't fold: /klout must not wait for one; the inbox lags by a fold interval."""
        return await self.db.read(incoming(community_id, target_id, since_ts))


class EventWriter:
    """Collects events and writes them in batches from one task.

    Platform handlers call `submit` and return at once; a busy server produces
    one transaction per batch instead of one per event, which is what keeps
    SQLite from ever reporting "database is locked". Batches land in the inbox;
    every `fold_rows` rows or `fold_interval_s` seconds they are folded into events.
    `flush` waits until everything submitted so far is in events.
    """

    def __init__(self, repo: EventRepository, *, batch_size: int = 500,
                 flush_interval_s: float = 0.2, fold_rows: int = 50_000,
                 fold_interval_s: float = 1.0) -> None:
        self.repo = repo
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.fold_rows = fold_rows
        self.fold_interval_s = fold_interval_s
        self._pending: list[EventRow] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._flush_lock = asyncio.Lock()
        self._before_flush: list[Callable[[], Awaitable[None]]] = []
        self._unfolded = 0
        self._folded_at = 0.0
        self.written = 0
        self.failed_batches = 0

    async def __aenter__(self) -> EventWriter:
        await self._fold()  # what a crash left in the inbox
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
        """Write everything pending now and fold the inbox; returns the rows written."""
        async with self._flush_lock:
            written = await self._write_pending()
            await self._fold()
            return written

    async def _write_pending(self) -> int:
        for hook in self._before_flush:
            await hook()
        batch, self._pending = self._pending, []
        if not batch:
            return 0
        try:
            # Rows not written stay pending: the next flush retries them, so a transient
            # lock loses nothing (and a row SQLite refuses is dropped, not retried forever).
            written = await store_isolating(batch, self.repo.append, what="event row",
                                            requeue=self._requeue)
        except StorageError:
            self.failed_batches += 1
            raise
        self.written += written
        self._unfolded += written
        return written

    def _requeue(self, rows: list[EventRow]) -> None:
        self._pending[:0] = rows

    async def _fold(self) -> None:
        await self.repo.fold()
        self._unfolded = 0
        self._folded_at = asyncio.get_running_loop().time()

    async def _spill(self) -> None:
        """The background step: append what is pending; fold when enough has gathered."""
        async with self._flush_lock:
            await self._write_pending()
            due = asyncio.get_running_loop().time() - self._folded_at >= self.fold_interval_s
            if self._unfolded >= self.fold_rows or (due and self._unfolded):
                await self._fold()

    async def _run(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that
            # arrives while the event is being set, which hung shutdown.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.flush_interval_s):
                    await self._wakeup.wait()
            self._wakeup.clear()
            try:
                await self._spill()
            except StorageError as exc:
                log.error("event batch not written, will retry: %s", exc)
