"""Writing a full rescore back: a million score rows and the history, in seconds.

History is sparse: a member gets a row on the day their score or model version
changes, a NULL row on the day they stop being scored, and nothing otherwise.
Readers carry the latest row on or before a day forward (see
bot/storage/scores.py). A new day therefore costs rows only for the members
who moved, instead of a snapshot per member per day slotted in among 30
earlier ones (17-25 s at 1M members with 30 days of dense history).

The stored scores ARE the latest history row of every scored member (both are
written here, in one transaction), so "changed" is decided against them,
without reading the history at all.

What else keeps this fast without changing what is stored:
- rows cross from Python to SQLite 150 to a statement, the values every row
  shares bound once per statement;
- rows go in primary-key order, so SQLite appends to b-tree pages instead of
  jumping around the file;
- when the community holds most of the scores table, the rank index is dropped
  and rebuilt by one sort instead of a million scattered inserts (a small
  community's rescore leaves the other communities' index entries alone).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import aiosqlite
import numpy as np

SECONDS_PER_DAY = 86_400
# Below this many rows, index maintenance is cheap and a rebuild is not worth it.
REBUILD_MIN_ROWS = 50_000
# Rows per INSERT statement: at most 753 bound values, well inside SQLite's 32766.
ROWS_PER_STATEMENT = 150


@dataclass(frozen=True)
class ScoreTable:
    """A community's full rescore, one entry per member. Without `rank`, the order of
    the arrays is the ranking (rank = position + 1)."""

    account_ids: np.ndarray
    score: np.ndarray
    raw: np.ndarray
    give_rate: np.ndarray
    rank: np.ndarray | None = None

    def ranks(self) -> np.ndarray:
        if self.rank is not None:
            return np.asarray(self.rank, dtype=np.int64)
        return np.arange(1, len(self.account_ids) + 1, dtype=np.int64)


@dataclass(frozen=True)
class _Previous:
    """The community's scores being replaced: sorted ids, their scores, and whether each
    was computed with the current model version."""

    account_ids: np.ndarray
    score: np.ndarray
    same_model: np.ndarray


async def write_rescore(conn: aiosqlite.Connection, community_id: int, table: ScoreTable,
                        model_version: str, computed_at: int, events_seen: int, *,
                        rebuild_min_rows: int = REBUILD_MIN_ROWS) -> None:
    """Inside an open write transaction: replace the community's scores, record in the
    history what changed today (the latest rescore of a day wins) and the rescore state."""
    day = computed_at // SECONDS_PER_DAY
    ids = np.asarray(table.account_ids)
    # The rescore hands ids over sorted already: a check is linear, a sort is not.
    order = (np.arange(len(ids)) if not np.any(ids[1:] < ids[:-1])
             else np.argsort(ids, kind="stable"))
    account_ids = ids[order]
    score = np.asarray(table.score)[order]
    previous = await _previous(conn, community_id, model_version)
    changed, gone = _changes(previous, account_ids, score)
    rank_index = await _rank_index_to_rebuild(conn, len(previous.account_ids), len(order),
                                              rebuild_min_rows)
    if rank_index is not None:
        await conn.execute("DROP INDEX scores_rank")
    await conn.execute("DELETE FROM scores WHERE community_id = ?", (community_id,))
    await _insert_many(
        conn, "INSERT INTO scores (community_id, model_version, computed_at, account_id, "
        "score, raw, rank, give_rate) VALUES ", (community_id, model_version, computed_at),
        [account_ids, score, np.asarray(table.raw)[order], table.ranks()[order],
         np.asarray(table.give_rate)[order]])
    if rank_index is not None:
        await conn.execute(rank_index)
    upsert = (" ON CONFLICT (community_id, account_id, day) DO UPDATE SET "
              "score = excluded.score, model_version = excluded.model_version")
    await _insert_many(
        conn, "INSERT INTO score_history (community_id, day, model_version, account_id, "
        "score) VALUES ", (community_id, day, model_version),
        [account_ids[changed], score[changed]], upsert)
    await _insert_many(
        conn, "INSERT INTO score_history (community_id, day, model_version, account_id, "
        "score) VALUES ", (community_id, day, model_version), [gone], upsert, null_tail=1)
    await conn.execute(
        "INSERT INTO rescore_state (community_id, computed_at, events_seen) "
        "VALUES (?, ?, ?) ON CONFLICT (community_id) DO UPDATE SET "
        "computed_at = excluded.computed_at, events_seen = excluded.events_seen",
        (community_id, computed_at, events_seen))


async def _insert_many(conn: aiosqlite.Connection, head: str, constants: tuple[object, ...],
                       columns: list[np.ndarray], tail: str = "", *, null_tail: int = 0) -> None:
    """Rows in account order, ROWS_PER_STATEMENT per statement: one step of SQLite per
    row costs more than binding the values (0.74 s against 0.43 s for 1M rows). The
    values shared by every row are bound once per statement (?1, ?2, ...), and each
    row ends with `null_tail` NULLs."""
    n, width, k = len(columns[0]), len(columns), len(constants)
    if not n:
        return
    grid = np.empty((n, width), dtype=object)
    for i, column in enumerate(columns):
        grid[:, i] = column.tolist()  # Python ints and floats: bound exactly
    flat = grid.ravel().tolist()
    del grid
    shared = list(constants)

    def statement(rows: int) -> str:
        values = []
        for r in range(rows):
            own = [f"?{k + r * width + c + 1}" for c in range(width)]
            values.append("(" + ", ".join([f"?{i + 1}" for i in range(k)] + own
                                          + ["NULL"] * null_tail) + ")")
        return head + ", ".join(values) + tail

    per = ROWS_PER_STATEMENT * width
    whole = n // ROWS_PER_STATEMENT
    if whole:
        await conn.executemany(statement(ROWS_PER_STATEMENT),
                               (shared + flat[i * per:(i + 1) * per] for i in range(whole)))
    rest = n - whole * ROWS_PER_STATEMENT
    if rest:
        await conn.execute(statement(rest), shared + flat[whole * per:])


async def _previous(conn: aiosqlite.Connection, community_id: int, model_version: str
                    ) -> _Previous:
    """The scores being replaced, in one row (group_concat: see bot/storage/bulk.py).
    The primary key hands them over in account order."""
    cur = await conn.execute(
        "SELECT group_concat(account_id), group_concat(score), "
        "group_concat(model_version = ?) FROM scores WHERE community_id = ?",
        (model_version, community_id))
    row = await cur.fetchone()
    if row is None or not row[0]:
        empty = np.zeros(0, dtype=np.int64)
        return _Previous(empty, empty, np.zeros(0, dtype=bool))
    account_ids, score, same = _parse_ints(row[0]), _parse_ints(row[1]), _parse_ints(row[2])
    if np.any(account_ids[1:] < account_ids[:-1]):  # the planner's choice, not a promise
        order = np.argsort(account_ids, kind="stable")
        account_ids, score, same = account_ids[order], score[order], same[order]
    return _Previous(account_ids, score, same != 0)


def _parse_ints(text: str) -> np.ndarray:
    return np.fromstring(text, dtype=np.int64, sep=",")


def _changes(previous: _Previous, account_ids: np.ndarray, score: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """(which new rows the history does not already hold, the previously scored accounts
    that are no longer scored). Both id arrays are sorted."""
    if not len(previous.account_ids):
        return np.ones(len(account_ids), dtype=bool), previous.account_ids
    pos = np.minimum(np.searchsorted(previous.account_ids, account_ids),
                     len(previous.account_ids) - 1)
    known = previous.account_ids[pos] == account_ids
    same = known & (previous.score[pos] == score) & previous.same_model[pos]
    still = np.zeros(len(previous.account_ids), dtype=bool)
    still[pos[known]] = True
    return ~same, previous.account_ids[~still]


async def _rank_index_to_rebuild(conn: aiosqlite.Connection, replaced: int, written: int,
                                 min_rows: int) -> str | None:
    """The CREATE statement of scores_rank when rebuilding it is cheaper than updating it:
    when this community's rows are most of the table. Its own stored SQL is replayed, so
    the rebuild can never drift from the schema."""
    if max(replaced, written) < min_rows:
        return None
    cur = await conn.execute("SELECT count(*) FROM scores")
    total = await cur.fetchone()
    after = (int(total[0]) if total else 0) - replaced + written
    if 2 * max(replaced, written) < after:
        return None
    cur = await conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'scores_rank'")
    found = await cur.fetchone()
    return str(found[0]) if found and found[0] else None


def write_rescore_blocking(path: str, timeout_s: float, community_id: int, table: ScoreTable,
                           model_version: str, computed_at: int, events_seen: int) -> None:
    """write_rescore in one transaction on a connection of its own, for a process with
    no event loop of its own to share (the rescore worker). The caller holds the bot's
    write lock (Database.write_elsewhere); the commit leaves the checkpoint to it."""
    conn = sqlite3.connect(path, timeout=timeout_s, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        conn.execute("BEGIN IMMEDIATE")
        try:
            asyncio.run(write_rescore(cast(aiosqlite.Connection, _Blocking(conn)),
                                      community_id, table, model_version, computed_at,
                                      events_seen))
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()


class _Blocking:
    """The part of aiosqlite's connection write_rescore uses, over a plain connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> _Cursor:
        return _Cursor(self.conn.execute(sql, params))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)


class _Cursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self.cursor = cursor

    async def fetchone(self) -> Any:
        return self.cursor.fetchone()
