"""What a cached score card was built from, read in one indexed lookup per request.

The lookup runs on the event loop's own thread (bot/storage/read_runner.py, ~10-20 us):
sent to the aiosqlite thread it waited for that thread and for the GIL, up to 5 ms
behind whatever else was reading, which made the /klout tail. It never waits: a busy
database (a WAL recovery, a lock) makes it give up at once, and the caller reads
through the shared reader connection as before.
"""

from __future__ import annotations

from bot.storage.db import Database
from bot.storage.read_runner import ReadRunner, WouldWait
from bot.storage.reads import Read, rows

# (rescore computed_at, events_seen, account id, opted_out, followers, listed); None where
# there is no row. A rescore, a forget marking the community stale, an account deleted
# and re-created, an opt-out from another process and an audience update all change it.
CardState = tuple[int | None, int | None, int | None, int | None, int | None, int | None]

_SQL = ("SELECT r.computed_at, r.events_seen, a.id, a.opted_out, a.followers, a.listed "
        "FROM (SELECT 1) LEFT JOIN rescore_state r ON r.community_id = ? "
        "LEFT JOIN accounts a ON a.platform = ? AND a.external_id = ?")


def _state(community_id: int, platform: str, external_id: str) -> Read[CardState]:
    # The outer row always exists.
    return rows(_SQL, (community_id, platform, external_id),
                lambda found: (found[0][0], found[0][1], found[0][2], found[0][3],
                               found[0][4], found[0][5]))


class CardStateRepository:
    def __init__(self, db: Database, runner: ReadRunner) -> None:
        self.db = db
        self.runner = runner
        self.local_reads = self.shared_reads = 0

    async def get(self, community_id: int, platform: str, external_id: str) -> CardState:
        """The state, read on the calling thread when that cannot wait, else through the
        shared reader connection."""
        state = self.read_now(community_id, platform, external_id)
        if state is not None:
            return state
        self.shared_reads += 1
        return await self.db.read(_state(community_id, platform, external_id))

    def read_now(self, community_id: int, platform: str, external_id: str) -> CardState | None:
        """The state read at once on this thread, or None if that would have to wait."""
        try:
            state = self.runner.now(_state(community_id, platform, external_id))
        except WouldWait:
            return None
        self.local_reads += 1
        return state
