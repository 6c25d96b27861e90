"""Leaderboard destinations, the claim/mark rows that make each post happen once, the
week's movers, and the console's record of what it posted."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bot.storage.db import Database
from bot.storage.models import BoardEntry

PostState = Literal["claimed", "posted", "skipped", "failed"]

_DEST_COLUMNS = ("id, platform, community, destination, weekday, time, timezone, top, enabled, "
                 "source, effective_from, updated_at")
_POST_COLUMNS = ("destination_id, period, due_at, state, claimed_at, attempts, catch_up, "
                 "payload, posted_at, message_ids, note")
_NAME = "coalesce(m.display_name, a.display_name, a.handle, a.external_id)"


@dataclass(frozen=True, slots=True)
class Destination:
    id: int
    platform: str
    community: str
    destination: str
    weekday: int
    time: str
    timezone: str
    top: int
    enabled: bool
    source: str
    effective_from: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class PeriodPost:
    destination_id: int
    period: str
    due_at: int
    state: PostState
    claimed_at: int
    attempts: int
    catch_up: bool
    payload: str | None
    posted_at: int | None
    message_ids: tuple[str, ...]
    note: str


@dataclass(frozen=True, slots=True)
class ConsolePost:
    id: int
    destination: str
    text: str
    posted_at: int


def _destination(row: sqlite3.Row) -> Destination:
    return Destination(int(row["id"]), row["platform"], row["community"], row["destination"],
                       int(row["weekday"]), row["time"], row["timezone"], int(row["top"]),
                       bool(row["enabled"]), row["source"], int(row["effective_from"]),
                       int(row["updated_at"]))


def _post(row: sqlite3.Row) -> PeriodPost:
    ids = tuple(i for i in str(row["message_ids"]).split(",") if i)
    return PeriodPost(int(row["destination_id"]), row["period"], int(row["due_at"]),
                      row["state"], int(row["claimed_at"]), int(row["attempts"]),
                      bool(row["catch_up"]), row["payload"], row["posted_at"], ids, row["note"])


class LeaderboardRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- destinations ------------------------------------------------------
    async def upsert_destination(self, *, platform: str, community: str, destination: str,
                                 weekday: int, time: str, timezone: str, top: int,
                                 source: str, now: int) -> Destination:
        """Create or change a destination. A changed day, time or zone starts the schedule
        afresh at `now`, so a slot that the old schedule never had is not "caught up"."""
        async with self.db.write() as conn:
            cur = await conn.execute(
                "INSERT INTO leaderboard_destinations (platform, community, destination, "
                "weekday, time, timezone, top, enabled, source, effective_from, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?) "
                "ON CONFLICT (platform, destination) DO UPDATE SET "
                "community = CASE WHEN excluded.community = '' "
                "  THEN leaderboard_destinations.community ELSE excluded.community END, "
                "effective_from = CASE WHEN leaderboard_destinations.enabled = 0 "
                "  OR leaderboard_destinations.weekday != excluded.weekday "
                "  OR leaderboard_destinations.time != excluded.time "
                "  OR leaderboard_destinations.timezone != excluded.timezone "
                "  THEN excluded.effective_from ELSE leaderboard_destinations.effective_from END, "
                "weekday = excluded.weekday, time = excluded.time, "
                "timezone = excluded.timezone, top = excluded.top, enabled = 1, "
                "source = excluded.source, updated_at = excluded.updated_at "
                f"RETURNING {_DEST_COLUMNS}",
                (platform, community, destination, weekday, time, timezone, top, source,
                 now, now))
            row = await cur.fetchone()
        if row is None:  # pragma: no cover - RETURNING always yields the row
            raise RuntimeError("destination upsert returned no row")
        return _destination(row)

    async def disable(self, destination_id: int, now: int) -> bool:
        async with self.db.write() as conn:
            cur = await conn.execute(
                "UPDATE leaderboard_destinations SET enabled = 0, updated_at = ? "
                "WHERE id = ? AND enabled = 1", (now, destination_id))
            return cur.rowcount > 0

    async def set_community(self, destination_id: int, community: str) -> None:
        await self.db.execute(
            "UPDATE leaderboard_destinations SET community = ? WHERE id = ?",
            (community, destination_id))

    async def destinations(self, *, enabled_only: bool = True) -> list[Destination]:
        where = "WHERE enabled = 1 " if enabled_only else ""
        rows = await self.db.fetchall(
            f"SELECT {_DEST_COLUMNS} FROM leaderboard_destinations {where}ORDER BY id")
        return [_destination(r) for r in rows]

    async def for_community(self, platform: str, community: str) -> list[Destination]:
        rows = await self.db.fetchall(
            f"SELECT {_DEST_COLUMNS} FROM leaderboard_destinations WHERE platform = ? "
            "AND community = ? AND enabled = 1 ORDER BY id", (platform, community))
        return [_destination(r) for r in rows]

    async def get(self, destination_id: int) -> Destination | None:
        row = await self.db.fetchone(
            f"SELECT {_DEST_COLUMNS} FROM leaderboard_destinations WHERE id = ?",
            (destination_id,))
        return _destination(row) if row else None

    # -- one row per (destination, period) ---------------------------------
    async def post_row(self, destination_id: int, period: str) -> PeriodPost | None:
        row = await self.db.fetchone(
            f"SELECT {_POST_COLUMNS} FROM leaderboard_posts WHERE destination_id = ? "
            "AND period = ?", (destination_id, period))
        return _post(row) if row else None

    async def claim(self, destination_id: int, period: str, *, due_at: int, now: int,
                    catch_up: bool, payload: str) -> bool:
        """Insert-or-ignore the claim and commit it; True when this call made the claim."""
        async with self.db.write() as conn:
            cur = await conn.execute(
                "INSERT OR IGNORE INTO leaderboard_posts (destination_id, period, due_at, "
                "state, claimed_at, catch_up, payload) VALUES (?, ?, ?, 'claimed', ?, ?, ?)",
                (destination_id, period, due_at, now, int(catch_up), payload))
            return cur.rowcount == 1

    async def skip(self, destination_id: int, period: str, *, due_at: int, now: int,
                   note: str) -> None:
        """Record a period that will never be posted (whether or not it was claimed)."""
        async with self.db.write() as conn:
            await conn.execute(
                "INSERT INTO leaderboard_posts (destination_id, period, due_at, state, "
                "claimed_at, note) VALUES (?, ?, ?, 'skipped', ?, ?) "
                "ON CONFLICT (destination_id, period) DO UPDATE SET state = 'skipped', "
                "note = excluded.note, payload = NULL WHERE leaderboard_posts.state = 'claimed'",
                (destination_id, period, due_at, now, note))

    async def mark_posted(self, destination_id: int, period: str, message_ids: Sequence[str],
                          *, now: int, note: str = "") -> None:
        # The payload (names and scores as claimed) only exists to finish an interrupted
        # post; once the period is settled it would be a copy of people's data for nothing.
        await self.db.execute(
            "UPDATE leaderboard_posts SET state = 'posted', posted_at = ?, message_ids = ?, "
            "note = ?, payload = NULL "
            "WHERE destination_id = ? AND period = ? AND state = 'claimed'",
            (now, ",".join(message_ids), note, destination_id, period))

    async def note_failure(self, destination_id: int, period: str, error: str, *,
                           give_up_after: int) -> PeriodPost | None:
        """Count a failed attempt; after `give_up_after` of them the period is 'failed'."""
        async with self.db.write() as conn:
            cur = await conn.execute(
                "UPDATE leaderboard_posts SET attempts = attempts + 1, note = ?, "
                "state = CASE WHEN attempts + 1 >= ? THEN 'failed' ELSE state END, "
                "payload = CASE WHEN attempts + 1 >= ? THEN NULL ELSE payload END "
                "WHERE destination_id = ? AND period = ? AND state = 'claimed' "
                f"RETURNING {_POST_COLUMNS}",
                (error[:500], give_up_after, give_up_after, destination_id, period))
            row = await cur.fetchone()
        return _post(row) if row else None

    async def unfinished(self, destination_id: int) -> list[PeriodPost]:
        rows = await self.db.fetchall(
            f"SELECT {_POST_COLUMNS} FROM leaderboard_posts WHERE destination_id = ? "
            "AND state = 'claimed' ORDER BY due_at", (destination_id,))
        return [_post(r) for r in rows]

    async def posts(self, destination_id: int) -> list[PeriodPost]:
        rows = await self.db.fetchall(
            f"SELECT {_POST_COLUMNS} FROM leaderboard_posts WHERE destination_id = ? "
            "ORDER BY due_at, period", (destination_id,))
        return [_post(r) for r in rows]

    # -- the week's movers ---------------------------------------------------
    async def climbers(self, community_id: int, compare_day: int, limit: int
                       ) -> list[BoardEntry]:
        """Members whose score rose most since their last snapshot on or before
        compare_day (the same comparison /leaderboard shows)."""
        return await self._movers(
            community_id, compare_day, limit,
            "previous IS NOT NULL AND score > previous "
            "ORDER BY score - previous DESC, score DESC, account_id")

    async def newcomers(self, community_id: int, compare_day: int, limit: int
                        ) -> list[BoardEntry]:
        """Members on the board now who had no score on or before compare_day."""
        return await self._movers(community_id, compare_day, limit,
                                  "previous IS NULL ORDER BY score DESC, account_id")

    async def _movers(self, community_id: int, compare_day: int, limit: int,
                      order: str) -> list[BoardEntry]:
        rows = await self.db.fetchall(
            "SELECT account_id, score, rank, name, previous FROM ("
            f"SELECT s.account_id, s.score, s.rank, {_NAME} AS name, "
            "(SELECT h.score FROM score_history h WHERE h.community_id = s.community_id "
            " AND h.account_id = s.account_id AND h.day <= ? ORDER BY h.day DESC LIMIT 1) "
            "AS previous FROM scores s JOIN accounts a ON a.id = s.account_id "
            "LEFT JOIN members m ON m.community_id = s.community_id AND m.account_id = a.id "
            "WHERE s.community_id = ? AND a.opted_out = 0) "
            f"WHERE {order} LIMIT ?", (compare_day, community_id, limit))
        return [BoardEntry(int(r["rank"]), int(r["account_id"]), r["name"], int(r["score"]),
                           None if r["previous"] is None else int(r["previous"]))
                for r in rows]

    # -- the console platform's own post log -------------------------------
    async def record_console_post(self, destination: str, text: str, now: int) -> int:
        return await self.db.execute(
            "INSERT INTO console_posts (destination, text, posted_at) VALUES (?, ?, ?)",
            (destination, text, now))

    async def console_posts(self, destination: str, since: int) -> list[ConsolePost]:
        rows = await self.db.fetchall(
            "SELECT id, destination, text, posted_at FROM console_posts "
            "WHERE destination = ? AND posted_at >= ? ORDER BY id", (destination, since))
        return [ConsolePost(int(r[0]), r[1], r[2], int(r[3])) for r in rows]
