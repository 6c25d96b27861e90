"""Current scores, ranks and daily history."""

from __future__ import annotations

from collections.abc import Sequence

from bot.storage.db import Database
from bot.storage.models import BoardEntry, ScoreRow

SECONDS_PER_DAY = 86_400


class ScoreRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, community_id: int, account_id: int) -> ScoreRow | None:
        row = await self.db.fetchone(
            "SELECT account_id, score, raw, rank, model_version, computed_at FROM scores "
            "WHERE community_id = ? AND account_id = ?", (community_id, account_id))
        return ScoreRow(*row) if row else None

    async def count(self, community_id: int) -> int:
        row = await self.db.fetchone(
            "SELECT count(*) FROM scores s JOIN accounts a ON a.id = s.account_id "
            "WHERE s.community_id = ? AND a.opted_out = 0", (community_id,))
        return int(row[0]) if row else 0

    async def board_alltime(self, community_id: int, offset: int, limit: int
                            ) -> list[BoardEntry]:
        """Best score each member ever had, highest first."""
        rows = await self.db.fetchall(
            "SELECT h.account_id, max(h.score) AS best, "
            "coalesce(m.display_name, a.display_name, a.handle, a.external_id) AS name "
            "FROM score_history h JOIN accounts a ON a.id = h.account_id "
            "LEFT JOIN members m ON m.community_id = h.community_id AND m.account_id = a.id "
            "WHERE h.community_id = ? AND a.opted_out = 0 GROUP BY h.account_id "
            "ORDER BY best DESC, h.account_id LIMIT ? OFFSET ?", (community_id, limit, offset))
        return [BoardEntry(offset + i + 1, int(r[0]), r[2], int(r[1]), None)
                for i, r in enumerate(rows)]

    async def board(self, community_id: int, offset: int, limit: int,
                    compare_day: int | None) -> list[BoardEntry]:
        """A page of the board, opted-out members left out, with the score on compare_day."""
        rows = await self.db.fetchall(
            "SELECT s.account_id, s.score, "
            "coalesce(m.display_name, a.display_name, a.handle, a.external_id) AS name, "
            "(SELECT h.score FROM score_history h WHERE h.community_id = s.community_id "
            " AND h.account_id = s.account_id AND h.day <= ? ORDER BY h.day DESC LIMIT 1) "
            "AS previous "
            "FROM scores s JOIN accounts a ON a.id = s.account_id "
            "LEFT JOIN members m ON m.community_id = s.community_id AND m.account_id = a.id "
            "WHERE s.community_id = ? AND a.opted_out = 0 "
            "ORDER BY s.rank LIMIT ? OFFSET ?",
            (compare_day if compare_day is not None else -1, community_id, limit, offset))
        return [
            BoardEntry(offset + i + 1, int(r["account_id"]), r["name"], int(r["score"]),
                       None if compare_day is None else r["previous"])
            for i, r in enumerate(rows)
        ]

    async def visible_rank(self, community_id: int, account_id: int) -> int | None:
        """Rank among members who have not opted out."""
        row = await self.db.fetchone(
            "SELECT s.rank, (SELECT count(*) FROM scores s2 JOIN accounts a2 ON a2.id = "
            "s2.account_id WHERE s2.community_id = s.community_id AND s2.rank < s.rank "
            "AND a2.opted_out = 1) FROM scores s WHERE s.community_id = ? AND s.account_id = ?",
            (community_id, account_id))
        return int(row[0]) - int(row[1]) if row else None

    async def score_on(self, community_id: int, account_id: int, day: int) -> int | None:
        row = await self.db.fetchone(
            "SELECT score FROM score_history WHERE community_id = ? AND account_id = ? "
            "AND day <= ? ORDER BY day DESC LIMIT 1", (community_id, account_id, day))
        return int(row[0]) if row else None

    async def history(self, community_id: int, account_id: int, since_day: int
                      ) -> list[tuple[int, int]]:
        rows = await self.db.fetchall(
            "SELECT day, score FROM score_history WHERE community_id = ? AND account_id = ? "
            "AND day >= ? ORDER BY day", (community_id, account_id, since_day))
        return [(int(r[0]), int(r[1])) for r in rows]

    async def give_rates(self, community_id: int, account_ids: Sequence[int]
                         ) -> dict[int, float]:
        if not account_ids:
            return {}
        found: dict[int, float] = {}
        for start in range(0, len(account_ids), 900):  # SQLite's bound-parameter limit
            chunk = account_ids[start:start + 900]
            marks = ",".join("?" * len(chunk))
            rows = await self.db.fetchall(
                f"SELECT account_id, give_rate FROM scores WHERE community_id = ? "
                f"AND account_id IN ({marks})", (community_id, *chunk))
            found.update((int(r[0]), float(r[1])) for r in rows)
        return found

    async def replace_all(self, community_id: int,
                          rows: Sequence[tuple[int, int, float, int, float]],
                          model_version: str, computed_at: int, events_seen: int) -> None:
        """Swap in a full rescore: rows are (account_id, score, raw, rank, give_rate)."""
        day = computed_at // SECONDS_PER_DAY
        async with self.db.write() as conn:
            await conn.execute("DELETE FROM scores WHERE community_id = ?", (community_id,))
            await conn.executemany(
                "INSERT INTO scores (community_id, account_id, score, raw, rank, give_rate, "
                "model_version, computed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(community_id, a, s, raw, rank, give, model_version, computed_at)
                 for a, s, raw, rank, give in rows])
            # One snapshot per day: the latest rescore of the day wins.
            await conn.executemany(
                "INSERT INTO score_history (community_id, account_id, day, score, model_version) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (community_id, account_id, day) "
                "DO UPDATE SET score = excluded.score, model_version = excluded.model_version",
                [(community_id, a, day, s, model_version) for a, s, _raw, _rank, _give in rows])
            await conn.execute(
                "INSERT INTO rescore_state (community_id, computed_at, events_seen) "
                "VALUES (?, ?, ?) ON CONFLICT (community_id) DO UPDATE SET "
                "computed_at = excluded.computed_at, events_seen = excluded.events_seen",
                (community_id, computed_at, events_seen))

    async def add_history(self, community_id: int, day: int,
                          rows: Sequence[tuple[int, int]], model_version: str) -> None:
        async with self.db.write() as conn:
            await conn.executemany(
                "INSERT OR REPLACE INTO score_history "
                "(community_id, account_id, day, score, model_version) VALUES (?, ?, ?, ?, ?)",
                [(community_id, a, day, s, model_version) for a, s in rows])

    async def prune_history(self, before_day: int) -> int:
        async with self.db.write() as conn:
            cur = await conn.execute("DELETE FROM score_history WHERE day < ?", (before_day,))
            return cur.rowcount

    async def rescore_state(self, community_id: int) -> tuple[int, int] | None:
        row = await self.db.fetchone(
            "SELECT computed_at, events_seen FROM rescore_state WHERE community_id = ?",
            (community_id,))
        return (int(row[0]), int(row[1])) if row else None
