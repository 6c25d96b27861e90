"""Bulk reads for the rescore: millions of rows without a Python object per value.

sqlite3 hands every row to Python as a tuple of int objects, about 0.5-1M rows/s
for the columns a rescore needs; a 10M-event window took 12-20 s that way. Here
SQLite packs each event into one integer (two when account ids are large) and
joins a chunk of them into one comma-separated string (group_concat runs in C),
which numpy parses in one call.
The scan itself touches only the events_rescore covering index (migration 0006).
It is exact: only integers travel this way. The rare event whose weight is not
1 is read as an ordinary row, so its float arrives bit for bit.

Everything here runs on a private connection in a worker thread
(`Database.run_sync`), so the event loop keeps serving while a rescore reads.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

# Two ways to pack an event into integers, chosen by how large account ids are:
# - one integer: actor | target | kind (4 bits) | seconds since the chunk's start,
#   which needs 2 * id_bits + 4 + span_bits <= 62, chunks of 2**span_bits seconds;
# - two integers: actor_id << 32 | target_id and ts << 8 | kind, ids below 2**31.
# Larger ids take the row-by-row path.
_ID_LIMIT = 2**31
_KIND_BITS = 4
_TWO_KIND_BITS = 8
_MIN_SPAN_BITS, _MAX_SPAN_BITS = 12, 20  # chunks of 68 minutes to 12 days
# Day chunks for the two-integer packing keep each string far below SQLite's length
# limit (1e9 bytes) and the peak memory low; a chunk still too big splits in halves.
CHUNK_SECONDS = 86_400
# Connections reading chunks at once: the machines we target have two cores.
READ_THREADS = 2
READ_PATHS = ("one-value", "two-values", "rows")

_ONE_VALUE = (
    "SELECT group_concat((((actor_id << ?) | target_id) << ?) | (min(kind, 15) << ?) "
    "| (ts - ?)) FROM events INDEXED BY events_rescore "
    "WHERE community_id = ? AND ts >= ? AND ts <= ? AND weight = 1.0"
)
_TWO_VALUES = (
    "SELECT group_concat((actor_id << 32) | target_id), group_concat((ts << 8) | kind) "
    "FROM events INDEXED BY events_rescore "
    "WHERE community_id = ? AND ts >= ? AND ts <= ? AND weight = 1.0"
)
# Without the covering index (ingestion may trade it away for faster inserts), the same
# packed read walks the table in rowid ranges: ID_CHUNK rows at a time, never a full scan
# per time chunk. Times are absolute there, so it always packs two integers per event.
_TWO_VALUES_BY_ID = (
    "SELECT group_concat((actor_id << 32) | target_id), group_concat((ts << 8) | kind) "
    "FROM events WHERE id >= ? AND id <= ? AND community_id = ? AND ts >= ? AND ts <= ? "
    "AND weight = 1.0"
)
ID_CHUNK = 1 << 20
_WEIGHTED = (
    "SELECT actor_id, target_id, kind, ts, weight FROM events INDEXED BY events_weighted "
    "WHERE community_id = ? AND ts >= ? AND ts <= ? AND weight <> 1.0"
)
_WEIGHTED_ANY_INDEX = _WEIGHTED.replace(" INDEXED BY events_weighted", "")
_ROWS = (
    "SELECT actor_id, target_id, kind, ts, weight FROM events "
    "WHERE community_id = ? AND ts >= ? AND ts <= ?"
)
_FACTS = (
    "SELECT id, is_bot, followers IS NULL, coalesce(followers, 0), listed IS NULL, "
    "coalesce(listed, 0) FROM accounts "
    "WHERE is_bot <> 0 OR followers IS NOT NULL OR listed IS NOT NULL"
)
# Most accounts have a creation time (every Discord id carries one), so these are read
# as two joined strings, not one tuple per account. Both aggregates walk the same rows
# in the same order.
_CREATED = (
    "SELECT group_concat(id), group_concat(created_at) FROM accounts "
    "INDEXED BY accounts_created WHERE created_at IS NOT NULL AND id BETWEEN ? AND ?"
)


@contextlib.contextmanager
def reader(path: str, timeout_s: float) -> Iterator[sqlite3.Connection]:
    """A private read-only connection for bulk reads (a worker thread or process)."""
    conn = sqlite3.connect(path, timeout=timeout_s)
    try:
        conn.execute("PRAGMA query_only = ON")
        yield conn
    finally:
        conn.close()


@dataclass(frozen=True)
class GraphArrays:
    """A community's events in a window, as dense arrays for the scoring core.

    account_ids[i] (sorted) is the account behind index i; target is -1 for no
    target. weight is None when every event has the default weight 1.
    """

    account_ids: np.ndarray
    actor: np.ndarray
    target: np.ndarray
    kind: np.ndarray
    ts: np.ndarray
    weight: np.ndarray | None
    events: int
    max_event_id: int


@dataclass(frozen=True)
class FactArrays:
    """Account facts aligned with GraphArrays.account_ids (NaN = unknown audience or
    creation time; created is epoch seconds)."""

    is_bot: np.ndarray
    followers: np.ndarray
    listed: np.ndarray
    created: np.ndarray
    # Trust seeds of the community scored (bot/storage/vouches.py), None when not read.
    seed: np.ndarray | None = None


@dataclass
class _RawEvents:
    actor_ids: np.ndarray
    target_ids: np.ndarray  # 0 = no target
    kind: np.ndarray
    ts: np.ndarray
    weight: np.ndarray | None


def load_window(conn: sqlite3.Connection, community_id: int, since: int, until: int,
                *, read: str | None = None, threads: int = READ_THREADS) -> GraphArrays:
    """Every event of the community with since <= ts <= until.

    `read` forces one of READ_PATHS (tests compare them); by default the fastest
    one the account ids allow is used. Without the events_rescore index both packed
    paths read in rowid ranges. `threads` connections read at once.
    """
    # Every id an event can carry (each max is one index seek). Actors are always stored
    # accounts (migration 0010 says why; events_actor is gone); targets are checked too.
    row = conn.execute(
        "SELECT max((SELECT coalesce(max(id), 0) FROM accounts), "
        "(SELECT coalesce(max(target_id), 0) FROM events))").fetchone()
    top_id = int(row[0])
    packing = _Packing.for_ids(top_id)
    if read is None:
        read = ("one-value" if packing is not None else
                "two-values" if top_id < _ID_LIMIT else "rows")
    if read not in READ_PATHS:
        raise ValueError(f"read must be one of {READ_PATHS}")
    # Before the events: anything committed while they are read shows as not seen yet,
    # so the next staleness check rescores again rather than missing it.
    row = conn.execute("SELECT max(id) FROM events WHERE community_id = ?",
                       (community_id,)).fetchone()
    max_event_id = int(row[0]) if row and row[0] is not None else 0
    if read == "rows":
        raw = _read_rows(conn, community_id, since, until)
    elif not _has_index(conn, "events_rescore"):
        raw = _read_packed(conn, community_id, since, until, None, threads, by_id=True)
    else:
        raw = _read_packed(conn, community_id, since, until,
                           packing if read == "one-value" else None, threads)
    return _index(raw, max_event_id)


@dataclass(frozen=True)
class _Packing:
    """One event as one integer: actor | target | kind | seconds into the chunk."""

    id_bits: int
    span_bits: int

    @classmethod
    def for_ids(cls, max_account_id: int) -> _Packing | None:
        id_bits = max(max_account_id.bit_length(), 1)
        span_bits = min(62 - 2 * id_bits - _KIND_BITS, _MAX_SPAN_BITS)
        return cls(id_bits, span_bits) if span_bits >= _MIN_SPAN_BITS else None

    def params(self, community_id: int, lo: int, hi: int) -> tuple[int, ...]:
        return (self.id_bits, _KIND_BITS + self.span_bits, self.span_bits, lo,
                community_id, lo, hi)

    def decode(self, text: str, lo: int) -> _Part:
        value = _parse_ints(text)
        ts = (value & ((1 << self.span_bits) - 1)).astype(np.float64)
        ts += lo
        value >>= self.span_bits
        kind = (value & ((1 << _KIND_BITS) - 1)).astype(np.uint8)
        value >>= _KIND_BITS
        # id_bits <= 29 here: int32 halves what the concatenation and indexing move.
        target = (value & ((1 << self.id_bits) - 1)).astype(np.int32)
        value >>= self.id_bits
        return value.astype(np.int32), target, kind, ts


def _has_index(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?",
                        (name,)).fetchone() is not None


def _read_packed(conn: sqlite3.Connection, community_id: int, since: int, until: int,
                 packing: _Packing | None, threads: int, *, by_id: bool = False
                 ) -> _RawEvents:
    """Packed chunks: time spans of the covering index, or rowid ranges (`by_id`)."""
    window = (since, until) if by_id else None
    if by_id:
        first, last = conn.execute("SELECT min(id), max(id) FROM events").fetchone()
        spans = ([] if first is None else
                 [(lo, min(lo + ID_CHUNK - 1, last)) for lo in range(first, last + 1, ID_CHUNK)])
    else:
        step = CHUNK_SECONDS if packing is None else 1 << packing.span_bits
        spans = [(lo, min(lo + step - 1, until)) for lo in range(since, until + 1, step)]
    # SQLite formats the rows with the GIL released, so each extra connection reading
    # its own share of the chunks runs on another core.
    groups = [spans[i::threads] for i in range(max(1, threads))]
    groups = [g for g in groups if g]
    path = _file_of(conn)
    if len(groups) > 1 and path:
        with ThreadPoolExecutor(len(groups) - 1) as pool:
            others = [pool.submit(_read_spans_on_own_connection, path, community_id, g,
                                  packing, window) for g in groups[1:]]
            parts = _read_spans(conn, community_id, groups[0], packing, window)
            for future in others:
                parts += future.result()
    else:
        parts = _read_spans(conn, community_id, spans, packing, window)
    actor_ids = _concat([p[0] for p in parts], np.int64)
    target_ids = _concat([p[1] for p in parts], np.int64)
    kind = _concat([p[2] for p in parts], np.uint8)
    ts = _concat([p[3] for p in parts], np.float64)
    del parts
    weighted = conn.execute(
        _WEIGHTED if _has_index(conn, "events_weighted") else _WEIGHTED_ANY_INDEX,
        (community_id, since, until)).fetchall()
    if not weighted:
        return _RawEvents(actor_ids, target_ids, kind, ts, None)
    w_actor, w_target, w_kind, w_ts, w_weight = _columns(weighted)
    return _RawEvents(
        np.concatenate([actor_ids, w_actor]),
        np.concatenate([target_ids, w_target]),
        np.concatenate([kind, w_kind]),
        np.concatenate([ts, w_ts]),
        np.concatenate([np.ones(len(actor_ids)), w_weight]),
    )


_Part = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _read_spans(conn: sqlite3.Connection, community_id: int, spans: list[tuple[int, int]],
                packing: _Packing | None, window: tuple[int, int] | None = None
                ) -> list[_Part]:
    """`window` set: spans are rowid ranges and events are kept inside the window."""
    parts: list[_Part] = []
    todo = spans[::-1]
    while todo:
        lo, hi = todo.pop()
        try:
            if packing is not None:
                (text,) = conn.execute(_ONE_VALUE, packing.params(community_id, lo, hi)
                                       ).fetchone()
                if text:
                    parts.append(packing.decode(text, lo))
                continue
            if window is None:
                pair_text, stamp_text = conn.execute(_TWO_VALUES, (community_id, lo, hi)
                                                     ).fetchone()
            else:
                pair_text, stamp_text = conn.execute(
                    _TWO_VALUES_BY_ID, (lo, hi, community_id, *window)).fetchone()
        except sqlite3.DataError:  # "string or blob too big": read it in halves
            if lo == hi:
                raise
            mid = (lo + hi) // 2
            todo += [(mid + 1, hi), (lo, mid)]
            continue
        if pair_text:
            pair = _parse_ints(pair_text)
            stamp = _parse_ints(stamp_text)
            del pair_text, stamp_text
            parts.append(((pair >> 32).astype(np.int32), (pair & 0xFFFF_FFFF).astype(np.int32),
                          (stamp & ((1 << _TWO_KIND_BITS) - 1)).astype(np.uint8),
                          (stamp >> _TWO_KIND_BITS).astype(np.float64)))
    return parts


def _read_spans_on_own_connection(path: str, community_id: int, spans: list[tuple[int, int]],
                                  packing: _Packing | None, window: tuple[int, int] | None
                                  ) -> list[_Part]:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA query_only = ON")
        return _read_spans(conn, community_id, spans, packing, window)
    finally:
        conn.close()


def _file_of(conn: sqlite3.Connection) -> str:
    """The main database file of a connection ('' for an in-memory one)."""
    for _seq, name, file in conn.execute("PRAGMA database_list"):
        if name == "main":
            return str(file or "")
    return ""


def _read_rows(conn: sqlite3.Connection, community_id: int, since: int, until: int
               ) -> _RawEvents:
    """The general path: one tuple per row (slow, any id size)."""
    rows = conn.execute(_ROWS, (community_id, since, until))
    return _RawEvents(*_columns(rows))


_Columns = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _columns(rows: Iterable[Sequence[Any]]) -> _Columns:
    """(actor_id, target_id, kind, ts, weight) rows as arrays."""
    # One flat float64 stream avoids a Python object per row; ids stay exact below 2**53.
    flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.float64)
    table = flat.reshape(-1, 5)
    return (table[:, 0].astype(np.int64), table[:, 1].astype(np.int64),
            table[:, 2].astype(np.uint8), table[:, 3].copy(), table[:, 4].copy())


def _parse_ints(text: str) -> np.ndarray:
    return np.fromstring(text, dtype=np.int64, sep=",")


def _concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    if not parts:
        return np.zeros(0, dtype=dtype)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _index(raw: _RawEvents, max_event_id: int) -> GraphArrays:
    """Account ids -> dense indices 0..n-1, in increasing id order."""
    actor_ids, target_ids = raw.actor_ids, raw.target_ids
    m = len(actor_ids)
    top = int(max(actor_ids.max(initial=0), target_ids.max(initial=0)))
    index_type = np.int32 if top < _ID_LIMIT and m < _ID_LIMIT else np.int64
    if top <= 4 * m + 1_000_000:
        # Ids are dense enough for a lookup table: linear, where np.unique sorts.
        seen = np.zeros(top + 1, dtype=bool)
        seen[actor_ids] = True
        seen[target_ids] = True
        seen[0] = False  # 0 is "no target", never an account
        account_ids = np.flatnonzero(seen).astype(np.int64)
        del seen
        lookup = np.full(top + 1, -1, dtype=index_type)
        lookup[account_ids] = np.arange(len(account_ids), dtype=index_type)
        actor = lookup[actor_ids]
        target = lookup[target_ids]
    else:
        has_target = target_ids > 0
        account_ids, inverse = np.unique(
            np.concatenate([actor_ids, target_ids[has_target]]), return_inverse=True)
        actor = inverse[:m].astype(index_type)
        target = np.full(m, -1, dtype=index_type)
        target[has_target] = inverse[m:]
        account_ids = account_ids.astype(np.int64)
    return GraphArrays(account_ids, actor, target, raw.kind, raw.ts, raw.weight, m,
                       max_event_id)


def load_facts(conn: sqlite3.Connection, account_ids: np.ndarray) -> FactArrays:
    """Facts of the given accounts (sorted ids). Only accounts whose facts differ from
    the defaults (not a bot, audience unknown) are read, through a partial index."""
    n = len(account_ids)
    is_bot = np.zeros(n, dtype=bool)
    followers = np.full(n, np.nan)
    listed = np.full(n, np.nan)
    flat = np.fromiter(itertools.chain.from_iterable(conn.execute(_FACTS)), dtype=np.int64)
    table = flat.reshape(-1, 6)
    ids = table[:, 0]
    pos = np.searchsorted(account_ids, ids)
    inside = pos < n
    inside[inside] = account_ids[pos[inside]] == ids[inside]
    pos, table = pos[inside], table[inside]
    is_bot[pos] = table[:, 1] != 0
    known = table[:, 2] == 0
    followers[pos[known]] = table[known, 3]
    known = table[:, 4] == 0
    listed[pos[known]] = table[known, 5]
    return FactArrays(is_bot, followers, listed, _load_created(conn, account_ids))


def _load_created(conn: sqlite3.Connection, account_ids: np.ndarray) -> np.ndarray:
    n = len(account_ids)
    created = np.full(n, np.nan)
    if n == 0:
        return created
    id_text, created_text = conn.execute(
        _CREATED, (int(account_ids[0]), int(account_ids[-1]))).fetchone()
    if not id_text:
        return created
    ids = _parse_ints(id_text)
    seconds = _parse_ints(created_text)
    pos = np.searchsorted(account_ids, ids)
    inside = pos < n
    inside[inside] = account_ids[pos[inside]] == ids[inside]
    created[pos[inside]] = seconds[inside]
    return created
