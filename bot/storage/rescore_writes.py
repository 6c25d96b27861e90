"""Writing a full rescore back: a million score rows and a daily snapshot, in seconds.

Four things keep this fast without changing what is stored:
- the rows cross from Python to SQLite once, into a temporary table, and both
  the scores and the history are filled from there by SQLite itself;
- rows go in primary-key order, so SQLite appends to b-tree pages instead of
  jumping around the file;
- when the community holds most of the scores table, the rank index is dropped
  and rebuilt by one sort instead of a million scattered inserts (a small
  community's rescore leaves the other communities' index entries alone);
- a second rescore on the same day rewrites only the history rows whose score
  changed: the day's snapshot of every other member already holds that score
  (this module writes scores and the day's snapshot in the same transaction, so
  the previous scores ARE the day's snapshot when they were computed that day).
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite
import numpy as np

SECONDS_PER_DAY = 86_400
# Below this many rows, index maintenance is cheap and a rebuild is not worth it.
REBUILD_MIN_ROWS = 50_000


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
    account_ids: np.ndarray  # sorted; empty unless same_day_and_model
    score: np.ndarray
    same_day_and_model: bool
    rows: int


async def write_rescore(conn: aiosqlite.Connection, community_id: int, table: ScoreTable,
                        model_version: str, computed_at: int, events_seen: int, *,
                        rebuild_min_rows: int = REBUILD_MIN_ROWS) -> None:
    """Inside an open write transaction: replace the community's scores, record the
    day's snapshot (the latest rescore of a day wins) and the rescore state."""
    day = computed_at // SECONDS_PER_DAY
    order = np.argsort(table.account_ids, kind="stable")
    account_ids = table.account_ids[order]
    score = table.score[order]
    previous = await _previous(conn, community_id, day, model_version)
    changed = _changed(previous, account_ids, score)
    # The rows cross from Python once, into a bare temporary table; both real tables
    # are then filled from it by SQLite itself.
    await conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS rescore_rows (account_id INTEGER, score INTEGER, "
        "raw REAL, rank INTEGER, give_rate REAL, changed INTEGER)")
    await conn.execute("DELETE FROM temp.rescore_rows")
    await conn.executemany(
        "INSERT INTO temp.rescore_rows VALUES (?, ?, ?, ?, ?, ?)",
        zip(account_ids.tolist(), score.tolist(), table.raw[order].tolist(),
            table.ranks()[order].tolist(), table.give_rate[order].tolist(),
            changed.astype(np.int64).tolist(), strict=True))
    rank_index = await _rank_index_to_rebuild(conn, previous.rows, len(order),
                                              rebuild_min_rows)
    if rank_index is not None:
        await conn.execute("DROP INDEX scores_rank")
    await conn.execute("DELETE FROM scores WHERE community_id = ?", (community_id,))
    await conn.execute(
        "INSERT INTO scores (community_id, account_id, score, raw, rank, give_rate, "
        "model_version, computed_at) SELECT ?, account_id, score, raw, rank, give_rate, ?, ? "
        "FROM temp.rescore_rows ORDER BY rowid", (community_id, model_version, computed_at))
    if rank_index is not None:
        await conn.execute(rank_index)
    await conn.execute(
        "INSERT INTO score_history (community_id, account_id, day, score, model_version) "
        "SELECT ?, account_id, ?, score, ? FROM temp.rescore_rows WHERE changed ORDER BY rowid "
        "ON CONFLICT (community_id, account_id, day) "
        "DO UPDATE SET score = excluded.score, model_version = excluded.model_version",
        (community_id, day, model_version))
    await conn.execute("DROP TABLE temp.rescore_rows")
    await conn.execute(
        "INSERT INTO rescore_state (community_id, computed_at, events_seen) "
        "VALUES (?, ?, ?) ON CONFLICT (community_id) DO UPDATE SET "
        "computed_at = excluded.computed_at, events_seen = excluded.events_seen",
        (community_id, computed_at, events_seen))


async def _previous(conn: aiosqlite.Connection, community_id: int, day: int,
                    model_version: str) -> _Previous:
    """The scores being replaced: only their count, unless they were computed today,
    when their values tell which history rows need rewriting (one row, group_concat:
    see bot/storage/bulk.py)."""
    empty = np.zeros(0, dtype=np.int64)
    cur = await conn.execute(
        "SELECT computed_at FROM rescore_state WHERE community_id = ?", (community_id,))
    state = await cur.fetchone()
    if state is None or int(state[0]) // SECONDS_PER_DAY != day:
        cur = await conn.execute(
            "SELECT count(*) FROM scores WHERE community_id = ?", (community_id,))
        counted = await cur.fetchone()
        return _Previous(empty, empty, False, int(counted[0]) if counted else 0)
    cur = await conn.execute(
        "SELECT group_concat(account_id), group_concat(score), min(computed_at), "
        "max(computed_at), min(model_version), max(model_version) FROM scores "
        "WHERE community_id = ?", (community_id,))
    row = await cur.fetchone()
    if row is None or not row[0]:
        return _Previous(empty, empty, False, 0)
    ids_text, score_text, first_at, last_at, low_model, high_model = row
    same = (int(first_at) // SECONDS_PER_DAY == int(last_at) // SECONDS_PER_DAY == day
            and low_model == high_model == model_version)
    account_ids = np.fromstring(ids_text, dtype=np.int64, sep=",")
    return _Previous(account_ids, np.fromstring(score_text, dtype=np.int64, sep=","), same,
                     len(account_ids))


def _changed(previous: _Previous, account_ids: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Which of the new rows the day's snapshot does not already hold."""
    if not previous.same_day_and_model or not len(previous.account_ids):
        return np.ones(len(account_ids), dtype=bool)
    pos = np.searchsorted(previous.account_ids, account_ids)
    pos = np.minimum(pos, len(previous.account_ids) - 1)
    known = previous.account_ids[pos] == account_ids
    return ~known | (previous.score[pos] != score)


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
