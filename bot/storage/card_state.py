"""What a cached score card was built from, read in one indexed lookup per request.

The lookup runs on the event loop's own thread, through a small read-only connection of
its own (~10-20 us): sent to the aiosqlite thread it waited for that thread and for the
GIL, up to 5 ms behind whatever else was reading, which made the /klout tail. It never
waits: a busy database (a WAL recovery, a lock) makes it give up at once, and the caller
reads through the shared reader connection as before.
"""

from __future__ import annotations

import sqlite3
import threading

from bot.storage.db import Database

# (rescore computed_at, events_seen, account id, opted_out, followers, listed); None where
# there is no row. A rescore, a forget marking the community stale, an account deleted
# and re-created, an opt-out from another process and an audience update all change it.
CardState = tuple[int | None, int | None, int | None, int | None, int | None, int | None]

_SQL = ("SELECT r.computed_at, r.events_seen, a.id, a.opted_out, a.followers, a.listed "
        "FROM (SELECT 1) LEFT JOIN rescore_state r ON r.community_id = ? "
        "LEFT JOIN accounts a ON a.platform = ? AND a.external_id = ?")


class CardStateRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._local: sqlite3.Connection | None = None
        self._local_thread: int | None = None
        self._local_unusable = db.path == ":memory:"  # a second connection sees another DB
        self.local_reads = self.shared_reads = 0

    async def get(self, community_id: int, platform: str, external_id: str) -> CardState:
        """The state, read on the calling thread when that cannot wait, else through the
        shared reader connection."""
        state = self.read_now(community_id, platform, external_id)
        if state is not None:
            return state
        self.shared_reads += 1
        row = await self.db.fetchone(_SQL, (community_id, platform, external_id))
        if row is None:  # pragma: no cover - the outer row always exists
            return (None, None, None, None, None, None)
        return (row[0], row[1], row[2], row[3], row[4], row[5])

    def read_now(self, community_id: int, platform: str, external_id: str) -> CardState | None:
        """The state read at once on this thread, or None if that would have to wait."""
        conn = self._connection()
        if conn is None:
            return None
        try:
            # fetchall: stepped to the end, so no read transaction stays open (a forget's
            # WAL truncation waits for readers).
            [row] = conn.execute(_SQL, (community_id, platform, external_id)).fetchall()
        except sqlite3.Error:
            return None  # busy or locked: the shared connection waits instead
        self.local_reads += 1
        return (row[0], row[1], row[2], row[3], row[4], row[5])

    def _connection(self) -> sqlite3.Connection | None:
        if self._local_unusable or not self.db.is_open:
            return None
        if self._local is not None:
            return self._local if self._local_thread == threading.get_ident() else None
        try:
            # timeout=0: answer SQLITE_BUSY at once rather than block the event loop.
            conn = sqlite3.connect(self.db.path, timeout=0, isolation_level=None,
                                   check_same_thread=True)
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error:
            self._local_unusable = True
            return None
        self._local, self._local_thread = conn, threading.get_ident()
        return conn

    def close(self) -> None:
        if self._local is not None:
            self._local.close()
            self._local = None
