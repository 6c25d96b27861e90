"""Vouches: members an admin vouched for, the trust seeds of a community's scores.

An admin's `/kloutadmin vouch @member` says "this member is genuine": the rescore marks
them as a trust seed (scoring AccountFacts.seed), so trust flows from them the way it
flows from the members others respond to. Forgetting a person deletes their vouches
(account_id is an account reference, bot/storage/privacy.py); opting out deletes them
too (PrivacyRepository.set_opted_out).
"""

from __future__ import annotations

import sqlite3

import numpy as np

from bot.storage.db import Database


class VouchRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def vouch(self, community_id: int, account_id: int, at: int) -> bool:
        """True when the vouch is new."""
        async with self.db.write() as conn:
            cur = await conn.execute(
                "INSERT OR IGNORE INTO vouches (community_id, account_id, vouched_at) "
                "VALUES (?, ?, ?)", (community_id, account_id, at))
            return cur.rowcount > 0

    async def unvouch(self, community_id: int, account_id: int) -> bool:
        """True when there was a vouch to remove."""
        async with self.db.write() as conn:
            cur = await conn.execute(
                "DELETE FROM vouches WHERE community_id = ? AND account_id = ?",
                (community_id, account_id))
            return cur.rowcount > 0

    async def vouched(self, community_id: int) -> list[str]:
        """Platform ids of the members vouched for here, oldest vouch first."""
        rows = await self.db.fetchall(
            "SELECT a.external_id FROM vouches v JOIN accounts a ON a.id = v.account_id "
            "WHERE v.community_id = ? ORDER BY v.vouched_at, a.external_id", (community_id,))
        return [str(r[0]) for r in rows]


def load_seeds(conn: sqlite3.Connection, community_id: int, account_ids: np.ndarray
               ) -> np.ndarray:
    """True for each of `account_ids` (sorted) vouched for in the community."""
    seed = np.zeros(len(account_ids), dtype=bool)
    ids = np.fromiter((int(r[0]) for r in conn.execute(
        "SELECT account_id FROM vouches WHERE community_id = ?", (community_id,))),
        dtype=np.int64)
    if len(ids) and len(account_ids):
        pos = np.searchsorted(account_ids, ids)
        inside = pos < len(account_ids)
        inside[inside] = account_ids[pos[inside]] == ids[inside]
        seed[pos[inside]] = True
    return seed
