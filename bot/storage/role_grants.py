"""Which tier reward role each member currently holds (as far as the bot gave it)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.storage.db import Database


class RoleGrantRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def granted(self, community_id: int) -> dict[int, tuple[str, str]]:
        """account id -> (platform user id, reward role id the bot last gave)."""
        rows = await self.db.fetchall(
            "SELECT g.account_id, a.external_id, g.role_id FROM tier_role_grants g "
            "JOIN accounts a ON a.id = g.account_id WHERE g.community_id = ?", (community_id,))
        return {int(r[0]): (str(r[1]), str(r[2])) for r in rows}

    async def tiers_now(self, community_id: int) -> list[tuple[int, str, int]]:
        """(account id, platform user id, score) of every scored, non-opted-out member."""
        rows = await self.db.fetchall(
            "SELECT s.account_id, a.external_id, s.score FROM scores s "
            "JOIN accounts a ON a.id = s.account_id "
            "WHERE s.community_id = ? AND a.opted_out = 0", (community_id,))
        return [(int(r[0]), str(r[1]), int(r[2])) for r in rows]

    async def record(self, community_id: int, granted: Sequence[tuple[int, str]],
                     revoked: Sequence[int]) -> None:
        async with self.db.write() as conn:
            await conn.executemany(
                "INSERT INTO tier_role_grants (community_id, account_id, role_id) "
                "VALUES (?, ?, ?) ON CONFLICT (community_id, account_id) DO UPDATE SET "
                "role_id = excluded.role_id",
                [(community_id, account, role) for account, role in granted])
            await conn.executemany(
                "DELETE FROM tier_role_grants WHERE community_id = ? AND account_id = ?",
                [(community_id, account) for account in revoked])
