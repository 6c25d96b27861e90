"""What a cached score card was built from, read in one indexed lookup per request."""

from __future__ import annotations

from bot.storage.db import Database

# (rescore computed_at, events_seen, account id, opted_out, followers, listed); None where
# there is no row. A rescore, a forget marking the community stale, an account deleted
# and re-created, an opt-out from another process and an audience update all change it.
CardState = tuple[int | None, int | None, int | None, int | None, int | None, int | None]


class CardStateRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, community_id: int, platform: str, external_id: str) -> CardState:
        row = await self.db.fetchone(
            "SELECT r.computed_at, r.events_seen, a.id, a.opted_out, a.followers, a.listed "
            "FROM (SELECT 1) LEFT JOIN rescore_state r ON r.community_id = ? "
            "LEFT JOIN accounts a ON a.platform = ? AND a.external_id = ?",
            (community_id, platform, external_id))
        if row is None:  # pragma: no cover - the outer row always exists
            return (None, None, None, None, None, None)
        return (row[0], row[1], row[2], row[3], row[4], row[5])
