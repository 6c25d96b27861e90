"""Current scores, ranks and score history.

History is sparse (bot/storage/rescore_writes.py): a row on each day a member's
score or model version changed, a NULL score on the day they stopped being
scored. A member's score on a day is their latest row on or before it, carried
forward; before their first row they have none."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bot.storage.db import Database
from bot.storage.models import BoardEntry, ScoreRow
from bot.storage.reads import Read, Rows, chunked, first, rows
from bot.storage.rescore_writes import ScoreTable, write_rescore

__all__ = ["ScoreRepository", "ScoreTable", "scores_on_days"]

SECONDS_PER_DAY = 86_400


def score_row(community_id: int, account_id: int) -> Read[ScoreRow | None]:
    return first(
        "SELECT account_id, score, raw, rank, model_version, computed_at FROM scores "
        "WHERE community_id = ? AND account_id = ?", (community_id, account_id),
        lambda r: ScoreRow(*r))


def total(community_id: int) -> Read[int]:
    """See ScoreRepository.total."""
    return rows("SELECT count(*) FROM scores WHERE community_id = ?", (community_id,),
                lambda found: int(found[0][0]), quick=False)


def opted_out_ranks(community_id: int) -> Read[list[int]]:
    return rows(
        "SELECT s.rank FROM accounts a CROSS JOIN scores s WHERE a.opted_out = 1 "
        "AND s.community_id = ? AND s.account_id = a.id ORDER BY s.rank", (community_id,),
        lambda found: [int(r[0]) for r in found])


def score_on(community_id: int, account_id: int, day: int) -> Read[int | None]:
    """See ScoreRepository.score_on."""
    return rows(
        "SELECT score FROM score_history WHERE community_id = ? AND account_id = ? "
        "AND day <= ? ORDER BY day DESC LIMIT 1", (community_id, account_id, day),
        lambda found: int(found[0][0]) if found and found[0][0] is not None else None)


def history(community_id: int, account_id: int, since_day: int
            ) -> Read[list[tuple[int, int | None]]]:
    """See ScoreRepository.history."""
    def shape(found: Rows) -> list[tuple[int, int | None]]:
        points = [(max(int(r[0]), since_day), None if r[1] is None else int(r[1]))
                  for r in found]
        while points and points[0][1] is None:
            points.pop(0)  # "not scored" before any score says nothing
        return points
    return rows(
        "SELECT day, score FROM (SELECT day, score FROM score_history "
        " WHERE community_id = ? AND account_id = ? AND day < ? ORDER BY day DESC LIMIT 1) "
        "UNION ALL SELECT day, score FROM score_history "
        "WHERE community_id = ? AND account_id = ? AND day >= ? ORDER BY day",
        (community_id, account_id, since_day, community_id, account_id, since_day), shape)


def give_rates(community_id: int, account_ids: Sequence[int]) -> Read[dict[int, float]]:
    return chunked(
        lambda marks: f"SELECT account_id, give_rate FROM scores WHERE community_id = ? "
        f"AND account_id IN ({marks})", (community_id,), account_ids,
        lambda found: {int(r[0]): float(r[1]) for r in found})


def rescore_state(community_id: int) -> Read[tuple[int, int] | None]:
    return first(
        "SELECT computed_at, events_seen FROM rescore_state WHERE community_id = ?",
        (community_id,), lambda r: (int(r[0]), int(r[1])))


def stored_model_version(community_id: int) -> Read[str | None]:
    """The model of the community's stored scores: a rescore writes every row with one
    version in one transaction, so any row tells (one index seek)."""
    return first("SELECT model_version FROM scores WHERE community_id = ? LIMIT 1",
                 (community_id,), lambda r: str(r[0]))


class ScoreRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, community_id: int, account_id: int) -> ScoreRow | None:
        return await self.db.read(score_row(community_id, account_id))

    async def count(self, community_id: int) -> int:
        """Scored members who have not opted out."""
        return await self.total(community_id) - await self.opted_out_count(community_id)

    async def largest_board(self) -> int:
        """The most score rows any community has: ranks run 1..n, so each community's
        highest rank, one seek of scores_rank each."""
        row = await self.db.fetchone(
            "SELECT max((SELECT max(s.rank) FROM scores s WHERE s.community_id = r.community_id)) "
            "FROM rescore_state r")
        return int(row[0]) if row is not None and row[0] is not None else 0

    async def total(self, community_id: int) -> int:
        """Every score row of the community. Walks the community's whole index range
        (about a second at 1M members): callers on a request path cache it per rescore."""
        return await self.db.read(total(community_id))

    async def opted_out_ranks(self, community_id: int) -> list[int]:
        """Ranks of the scored members who opted out, ascending (see opted_out_count)."""
        return await self.db.read(opted_out_ranks(community_id))

    async def opted_out_count(self, community_id: int) -> int:
        """Scored members who opted out. From the few opted-out accounts (a partial index)
        to their score rows: never a pass over the community's scores."""
        row = await self.db.fetchone(
            "SELECT count(*) FROM accounts a CROSS JOIN scores s WHERE a.opted_out = 1 "
            "AND s.community_id = ? AND s.account_id = a.id", (community_id,))
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
            "HAVING best IS NOT NULL ORDER BY best DESC, h.account_id LIMIT ? OFFSET ?",
            (community_id, limit, offset))
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
        # Counted from the opted-out accounts (few, partial index), not from every member
        # ranked above: the latter is a scan of up to the whole board.
        row = await self.db.fetchone(
            "SELECT s.rank, (SELECT count(*) FROM accounts a2 CROSS JOIN scores s2 "
            "WHERE a2.opted_out = 1 AND s2.community_id = s.community_id "
            "AND s2.account_id = a2.id AND s2.rank < s.rank) "
            "FROM scores s WHERE s.community_id = ? AND s.account_id = ?",
            (community_id, account_id))
        return int(row[0]) - int(row[1]) if row else None

    async def score_on(self, community_id: int, account_id: int, day: int) -> int | None:
        """The member's score on `day`: their latest row on or before it (None before the
        first, or while not scored)."""
        return await self.db.read(score_on(community_id, account_id, day))

    async def history(self, community_id: int, account_id: int, since_day: int
                      ) -> list[tuple[int, int | None]]:
        """The member's history from since_day on: (day, score) on each day it changed, the
        value carried into since_day first (dated since_day). None = not scored from that
        day. scores_on_days turns it into a value per day."""
        return await self.db.read(history(community_id, account_id, since_day))

    async def give_rates(self, community_id: int, account_ids: Sequence[int]
                         ) -> dict[int, float]:
        return await self.db.read(give_rates(community_id, account_ids))

    async def replace_all(self, community_id: int,
                          rows: Sequence[tuple[int, int, float, int, float]],
                          model_version: str, computed_at: int, events_seen: int) -> None:
        """Swap in a full rescore: rows are (account_id, score, raw, rank, give_rate)."""
        columns = list(zip(*rows, strict=True)) if rows else [(), (), (), (), ()]
        account_id, score, raw, rank, give_rate = (np.asarray(c) for c in columns)
        await self.replace_table(
            community_id, ScoreTable(account_id, score, raw, give_rate, rank),
            model_version, computed_at, events_seen)

    async def replace_table(self, community_id: int, table: ScoreTable, model_version: str,
                            computed_at: int, events_seen: int) -> None:
        """Swap in a full rescore, record what changed in the history and the rescore
        state, in one transaction (readers see the old scores or the new, never a mix).
        The WAL checkpoint of these pages runs after the commit, off the lock."""
        async with self.db.write(defer_checkpoint=True) as conn:
            await write_rescore(conn, community_id, table, model_version, computed_at,
                                events_seen)

    async def add_history(self, community_id: int, day: int,
                          rows: Sequence[tuple[int, int]], model_version: str) -> None:
        async with self.db.write() as conn:
            await conn.executemany(
                "INSERT OR REPLACE INTO score_history "
                "(community_id, account_id, day, score, model_version) VALUES (?, ?, ?, ?, ?)",
                [(community_id, a, day, s, model_version) for a, s in rows])

    async def prune_history(self, before_day: int) -> int:
        """Drop history no reader needs once days before `before_day` are out of the
        retention window: every row before it except a member's last, which still gives
        their score on the following days. That last row goes too when it says "not
        scored" (they left before the window: nothing of theirs is kept)."""
        async with self.db.write() as conn:
            cur = await conn.execute("SELECT id FROM communities")
            removed = 0
            for (community_id,) in await cur.fetchall():
                cur = await conn.execute(
                    "DELETE FROM score_history AS h WHERE h.community_id = ? AND h.day < ? "
                    "AND (h.score IS NULL OR EXISTS (SELECT 1 FROM score_history n "
                    "WHERE n.community_id = h.community_id AND n.account_id = h.account_id "
                    "AND n.day > h.day AND n.day <= ?))",
                    (community_id, before_day, before_day))
                removed += max(cur.rowcount, 0)
            return removed

    async def rescore_state(self, community_id: int) -> tuple[int, int] | None:
        return await self.db.read(rescore_state(community_id))

    async def stored_model_version(self, community_id: int) -> str | None:
        return await self.db.read(stored_model_version(community_id))


def scores_on_days(points: Sequence[tuple[int, int | None]], days: Sequence[int]
                   ) -> list[int | None]:
    """The score on each of `days` (ascending), carried forward from history points
    (ascending, as ScoreRepository.history returns them)."""
    out: list[int | None] = []
    current: int | None = None
    i = 0
    for day in days:
        while i < len(points) and points[i][0] <= day:
            current = points[i][1]
            i += 1
        out.append(current)
    return out
