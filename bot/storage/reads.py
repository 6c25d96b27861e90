"""Reads as values, so one query serves two ways of running it.

A `Read` is SQL, parameters and how its rows become a value. A repository method sends
one to the shared reader connection (`Database.read`). A request that needs many reads
(a /klout card makes about a dozen) is written once as `Steps`, a generator that yields
reads and is sent their values, and `ReadRunner` (bot/storage/read_runner.py) runs the
whole sequence on the event loop's thread without a single trip to another thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Rows = list[sqlite3.Row]
Statement = tuple[str, Sequence[Any]]
# A request's reads: each `yield read` is sent back the read's value. A step may also
# yield an awaitable: work already under way that several requests share.
Steps = Generator["Read[Any] | Awaitable[Any]", Any, T]
CHUNK = 900  # SQLite's bound-parameter limit, with room for the fixed ones


@dataclass(frozen=True, slots=True)
class Read(Generic[T]):
    """Statements run in order; `shape` turns their rows (one list each) into the value."""

    statements: tuple[Statement, ...]
    shape: Callable[[list[Rows]], T]
    # False for a read known to walk a lot (a big board's count): the event loop's
    # thread never tries it (bot/storage/read_runner.py).
    quick: bool = True

    def run(self, conn: sqlite3.Connection) -> T:
        """On a connection of the calling thread (its row factory must be sqlite3.Row)."""
        # fetchall steps each statement to the end, so no read transaction stays open.
        return self.shape([conn.execute(sql, params).fetchall() for sql, params in
                           self.statements])


def rows(sql: str, params: Sequence[Any], shape: Callable[[Rows], T], *,
         quick: bool = True) -> Read[T]:
    return Read(((sql, params),), lambda results: shape(results[0]), quick)


def first(sql: str, params: Sequence[Any], shape: Callable[[sqlite3.Row], T]
          ) -> Read[T | None]:
    """The first row of a query that yields at most a few, shaped; None if none."""
    return rows(sql, params, lambda found: shape(found[0]) if found else None)


def chunked(sql: Callable[[str], str], fixed: Sequence[Any], ids: Sequence[int],
            shape: Callable[[Rows], T]) -> Read[T]:
    """A query over many ids, run in chunks under the bound-parameter limit: `sql` is
    given the chunk's placeholders, `shape` all the rows."""
    statements = tuple(
        (sql(",".join("?" * len(ids[i:i + CHUNK]))), (*fixed, *ids[i:i + CHUNK]))
        for i in range(0, len(ids), CHUNK))
    return Read(statements, lambda results: shape([r for found in results for r in found]))
