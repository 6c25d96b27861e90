"""Short reads run on the event loop's own thread, through a read-only connection of its own.

Every read sent to the shared aiosqlite connection is a trip to its thread and back, and
under load each hop waits for the GIL (up to the 5 ms switch interval) behind the busy
event loop. A /klout card built from storage makes about a dozen reads: 200 cold cards
at once interleaved ~2,400 hops on that one thread, and every card came out at the end
(about 1.5 s each, p50 = p99). Run here instead, a card's reads take ~0.3 ms of the
loop in a row, so cards come out one by one in the order they were asked for.

The loop must never wait, so the connection answers SQLITE_BUSY at once (timeout 0),
and a progress handler interrupts a read once the request has used its budget of loop
time (a member with a huge number of events). Either way that read and the rest of the
request go to the shared reader as before: a slow request costs the loop at most its
budget, and no one else waits for it. Reads known to be slow (the first count of a big
board) go there straight away.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from typing import Any, TypeVar

from bot.storage.db import Database
from bot.storage.reads import Read, Steps

T = TypeVar("T")
BUDGET_S = 0.004  # loop time one request may spend reading; the rest waits its turn
_PROGRESS_OPS = 1000  # SQLite VM steps between deadline checks (~10 us)


class WouldWait(Exception):
    """The read cannot run at once on this thread (busy, over budget, wrong thread)."""


class ReadRunner:
    def __init__(self, db: Database, budget_s: float = BUDGET_S) -> None:
        self.db = db
        self.budget_s = budget_s
        self._conn: sqlite3.Connection | None = None
        self._thread: int | None = None
        self._unusable = db.path == ":memory:"  # a second connection sees another DB
        self._deadline = math.inf
        self.loop_reads = self.shared_reads = 0

    async def run(self, steps: Steps[T]) -> T:
        """Run a request's reads: here while they fit its budget, then on the shared
        reader connection."""
        budget = self.budget_s
        try:
            step = next(steps)
            while True:
                value: Any
                if not isinstance(step, Read):
                    value = await step
                elif budget > 0 and step.quick:
                    started = time.perf_counter()
                    try:
                        value = self.now(step, budget)
                    except WouldWait:
                        budget = 0.0
                        value = await self._shared(step)
                    else:
                        budget -= time.perf_counter() - started
                else:
                    value = await self._shared(step)
                step = steps.send(value)
        except StopIteration as done:
            return done.value
        finally:
            steps.close()

    async def _shared(self, read: Read[T]) -> T:
        self.shared_reads += 1
        return await self.db.read(read)

    def now(self, read: Read[T], budget_s: float = BUDGET_S) -> T:
        """The read's value, read at once on this thread within `budget_s`, or WouldWait."""
        conn = self._connection()
        if conn is None:
            raise WouldWait
        self._deadline = time.perf_counter() + budget_s
        try:
            value = read.run(conn)
        except sqlite3.Error as exc:  # busy, locked or interrupted: read elsewhere
            raise WouldWait from exc
        finally:
            self._deadline = math.inf
        self.loop_reads += 1
        return value

    def _over_budget(self) -> bool:
        return time.perf_counter() > self._deadline

    def _connection(self) -> sqlite3.Connection | None:
        if self._unusable or not self.db.is_open:
            return None
        if self._conn is not None:
            return self._conn if self._thread == threading.get_ident() else None
        try:
            # timeout=0: answer SQLITE_BUSY at once rather than block the event loop.
            conn = sqlite3.connect(self.db.path, timeout=0, isolation_level=None,
                                   check_same_thread=True)
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error:
            self._unusable = True
            return None
        conn.row_factory = sqlite3.Row
        conn.set_progress_handler(self._over_budget, _PROGRESS_OPS)
        self._conn, self._thread = conn, threading.get_ident()
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
