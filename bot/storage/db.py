"""The SQLite database: connections, migrations and the single writer.

One writer connection serialises every write behind an asyncio lock, so the
bot never races itself into "database is locked"; a second connection serves
reads concurrently (WAL lets readers proceed while the writer commits). Bulk
read paths that would be slow row-by-row through aiosqlite run on a private
sqlite3 connection in a worker thread (see `run_sync`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.storage.errors import StorageError, classify
from bot.storage.reads import Read

log = logging.getLogger(__name__)
T = TypeVar("T")
APP_ID = 0x4B4C4F55  # "KLOU": marks the file as ours, so we never migrate a stranger's DB.


def migrations() -> list[tuple[int, str, str]]:
    """Numbered migrations shipped in bot/storage/migrations, in order."""
    found = []
    for entry in resources.files("bot.storage.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


class Database:
    """Owns the connections. Use `async with Database(path) as db:`."""

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 5.0,
                 read_only: bool = False) -> None:
        self.path = str(path)
        self.busy_timeout_s = busy_timeout_s
        # Read-only opens (status, exports) never migrate or create the file.
        self.read_only = read_only
        self._ro_uri = (Path(self.path).expanduser().resolve().as_uri() + "?mode=ro"
                        if read_only else "")
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        # Deferred WAL checkpoints (see `write(defer_checkpoint=True)`).
        self._autocheckpoint: int | None = None  # the connection's own setting
        self._checkpoint_task: asyncio.Task[None] | None = None
        self._checkpoint_wanted = False

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        _check_folder(self.path)
        try:
            self._writer = await self._connect()
            if not self.read_only:
                await self._prepare_writer(self._writer)
            self._reader = await self._connect()
        except sqlite3.Error as exc:
            await self.close()
            raise classify(exc, self.path) from exc
        except BaseException:
            await self.close()
            raise

    async def _connect(self) -> aiosqlite.Connection:
        if self.read_only:
            conn = await aiosqlite.connect(self._ro_uri, uri=True, timeout=self.busy_timeout_s,
                                           isolation_level=None)
        else:
            conn = await aiosqlite.connect(self.path, timeout=self.busy_timeout_s,
                                           isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            await conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            await conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _prepare_writer(self, conn: aiosqlite.Connection) -> None:
        # Reading the header first turns "file is not a database" into a clear error
        # before we try to change anything.
        row = await (await conn.execute("PRAGMA application_id")).fetchone()
        app_id = row[0] if row else 0
        tables = await (await conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'")).fetchone()
        if app_id not in (0, APP_ID) or (app_id == 0 and tables and tables[0] > 0):
            raise StorageError("foreign", f"{self.path} is an SQLite file of another program; "
                               "refusing to touch it (pick another --db path)")
        if self.path != ":memory:":
            mode = await (await conn.execute("PRAGMA journal_mode = WAL")).fetchone()
            if mode and str(mode[0]).lower() != "wal":
                log.warning("database %s could not switch to WAL (mode %s)", self.path, mode[0])
        await conn.execute("PRAGMA synchronous = NORMAL")
        await self._migrate(conn)

    async def _migrate(self, conn: aiosqlite.Connection) -> None:
        # Applied migrations are recorded one by one, so a migration that lands with a
        # lower number than one already applied (parallel branches) still runs.
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "number INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        rows = await (await conn.execute("SELECT number FROM schema_migrations")).fetchall()
        applied = {int(r[0]) for r in rows}
        if not applied:
            # Databases migrated before this table existed recorded only user_version.
            row = await (await conn.execute("PRAGMA user_version")).fetchone()
            version = int(row[0]) if row else 0
            applied = {n for n, _, _ in migrations() if n <= version}
            await conn.executemany(
                "INSERT INTO schema_migrations (number, name) VALUES (?, ?)",
                [(n, name) for n, name, _ in migrations() if n in applied])
        for number, name, sql in migrations():
            if number in applied:
                continue
            log.info("applying migration %s to %s", name, self.path)
            await conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _split_sql(sql):
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (number, name) VALUES (?, ?)", (number, name))
                latest = max(applied | {number})
                await conn.execute(f"PRAGMA user_version = {latest}")
                await conn.execute(f"PRAGMA application_id = {APP_ID}")
                await conn.execute("COMMIT")
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            applied.add(number)

    async def close(self) -> None:
        await self.settle()
        for conn in (self._reader, self._writer):
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()
        self._reader = self._writer = None

    @property
    def is_open(self) -> bool:
        return self._reader is not None

    @property
    def reader(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise StorageError("closed", f"database {self.path} is not open")
        return self._reader

    @contextlib.asynccontextmanager
    async def write(self, *, defer_checkpoint: bool = False
                    ) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction; the lock makes this process's writer the only one.

        `defer_checkpoint` is for a transaction that rewrites a large share of the file
        (a full rescore): its commit would otherwise copy every page it wrote from the
        WAL into the database file and sync it (0.3-2 s at 1M members) while holding
        the lock. Instead the commit only appends to the WAL, and a PASSIVE checkpoint
        runs right after on a private connection in a worker thread, which blocks
        neither readers nor writers. Automatic checkpoints are back on once it has run,
        so the WAL never grows past the largest transaction, as before."""
        if self._writer is None:
            raise StorageError("closed", f"database {self.path} is not open")
        conn = self._writer
        defer = defer_checkpoint and self.path != ":memory:" and not self.read_only
        async with self._write_lock:
            if defer:
                if self._autocheckpoint is None:
                    row = await (await conn.execute("PRAGMA wal_autocheckpoint")).fetchone()
                    self._autocheckpoint = int(row[0]) if row else 1000
                await conn.execute("PRAGMA wal_autocheckpoint = 0")
            try:
                try:
                    await conn.execute("BEGIN IMMEDIATE")
                except sqlite3.Error as exc:
                    raise classify(exc, self.path) from exc
                except BaseException:
                    # Cancelled while BEGIN ran on the connection's thread: it may have
                    # started a transaction that nobody would ever end.
                    with contextlib.suppress(sqlite3.Error):
                        await conn.execute("ROLLBACK")
                    raise
                try:
                    yield conn
                except BaseException as exc:
                    with contextlib.suppress(sqlite3.Error):
                        await conn.execute("ROLLBACK")
                    if isinstance(exc, sqlite3.Error):
                        raise classify(exc, self.path) from exc
                    raise
                else:
                    try:
                        await conn.execute("COMMIT")
                    except sqlite3.Error as exc:
                        with contextlib.suppress(sqlite3.Error):
                            await conn.execute("ROLLBACK")
                        raise classify(exc, self.path) from exc
            finally:
                if defer:
                    self._checkpoint_wanted = True
                    if self._checkpoint_task is None or self._checkpoint_task.done():
                        self._checkpoint_task = asyncio.create_task(self._checkpoint())

    async def _checkpoint(self) -> None:
        """Checkpoint after deferred writes, then give the writer its automatic
        checkpoints back (under the write lock, so a deferred write that starts
        meanwhile is never checkpointed by its own commit)."""
        try:
            while True:
                self._checkpoint_wanted = False
                try:
                    await asyncio.to_thread(self._passive_checkpoint)
                except sqlite3.Error as exc:  # the next automatic checkpoint retries
                    log.warning("deferred checkpoint of %s failed: %s", self.path, exc)
                async with self._write_lock:
                    if self._checkpoint_wanted:
                        continue
                    if self._writer is not None:
                        with contextlib.suppress(sqlite3.Error):
                            await self._writer.execute(
                                f"PRAGMA wal_autocheckpoint = {self._autocheckpoint or 1000}")
                    return
        except asyncio.CancelledError:
            if self._writer is not None:
                with contextlib.suppress(sqlite3.Error):
                    await self._writer.execute(
                        f"PRAGMA wal_autocheckpoint = {self._autocheckpoint or 1000}")
            raise

    def _passive_checkpoint(self) -> None:
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s)
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            conn.close()

    async def settle(self) -> None:
        """Wait for a deferred checkpoint, if one is pending (idle moments, shutdown,
        benchmarks that time it on its own)."""
        task = self._checkpoint_task
        if task is not None and not task.done():
            await asyncio.shield(task)

    # execute_fetchall is one trip to the connection's thread; execute + fetch + close is
    # three, and under load each trip waits for the GIL (a /klout makes a dozen reads).
    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        try:
            return list(await self.reader.execute_fetchall(sql, params))
        except sqlite3.Error as exc:
            raise classify(exc, self.path) from exc

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        """The first row of a query that yields at most a few (all are read)."""
        try:
            rows = await self.reader.execute_fetchall(sql, params)
        except sqlite3.Error as exc:
            raise classify(exc, self.path) from exc
        for row in rows:
            return row
        return None

    async def read(self, read: Read[T]) -> T:
        """A read through the shared reader connection (one trip per statement)."""
        return read.shape([await self.fetchall(sql, params) for sql, params in read.statements])

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """A single write statement in its own transaction; returns lastrowid."""
        async with self.write() as conn:
            cur = await conn.execute(sql, params)
            return cur.lastrowid or 0

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.write() as conn:
            await conn.executemany(sql, rows)

    @contextlib.asynccontextmanager
    async def erasing(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction whose deletes leave nothing readable behind: SQLite
        overwrites deleted content with zeros (secure_delete), and afterwards the WAL,
        which still holds old copies of the pages, is checkpointed and truncated."""
        if self._writer is None:
            raise StorageError("closed", f"database {self.path} is not open")
        conn = self._writer
        row = await (await conn.execute("PRAGMA secure_delete")).fetchone()
        previous = int(row[0]) if row else 0
        await conn.execute("PRAGMA secure_delete = ON")
        try:
            async with self.write() as tx:
                yield tx
        finally:
            await conn.execute(f"PRAGMA secure_delete = {previous}")
        # A reader on an older snapshot (a rescore's bulk read) or another checkpoint
        # (a deferred one) makes the checkpoint report busy and leave the WAL as it is:
        # try again until it is truncated, letting writers in between.
        deadline = asyncio.get_running_loop().time() + max(self.busy_timeout_s, 1.0)
        while True:
            async with self._write_lock:
                try:
                    row = await (await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                                 ).fetchone()
                except sqlite3.Error as exc:  # a busy reader only delays the truncation
                    log.warning("checkpoint after erasing data in %s failed: %s", self.path,
                                exc)
                    return
            if row is None or int(row[0]) == 0:
                return
            if asyncio.get_running_loop().time() > deadline:
                log.warning("checkpoint after erasing data in %s stayed busy; the WAL keeps "
                            "old pages until the next checkpoint", self.path)
                return
            await asyncio.sleep(0.05)

    async def run_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a bulk read in a worker thread on a private read-only connection."""
        def work() -> T:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s)
            try:
                conn.execute("PRAGMA query_only = ON")
                return fn(conn)
            finally:
                conn.close()
        try:
            return await asyncio.to_thread(work)
        except sqlite3.Error as exc:
            raise classify(exc, self.path) from exc


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (sqlite3 executes one at a time)."""
    statements, buf = [], []
    for line in script.splitlines():
        stripped = line.strip()
        if stripped.startswith("--") or not stripped:
            continue
        buf.append(line)
        if sqlite3.complete_statement("\n".join(buf)):
            statements.append("\n".join(buf))
            buf = []
    if buf:
        statements.append("\n".join(buf))
    return statements


def _check_folder(path: str) -> None:
    if path == ":memory:":
        return
    parent = Path(path).expanduser().resolve().parent
    if not parent.is_dir():
        raise StorageError("unopenable",
                           f"cannot open database {path}: folder {parent} does not exist")
