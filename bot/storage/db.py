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
import itertools
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.storage.bulk import reader
from bot.storage.errors import StorageError, classify, damaged
from bot.storage.reads import Read

log = logging.getLogger(__name__)
T = TypeVar("T")
APP_ID = 0x4B4C4F55  # "KLOU": marks the file as ours, so we never migrate a stranger's DB.
# After an erase, the WAL still holds the old pages and the database file has not got
# the zeroed ones yet until a TRUNCATE checkpoint succeeds, and a connection that holds an
# older read snapshot (another process reading) makes it fail. A forget retries this long
# (about 2 s in all) before it answers; then a background task goes on.
PURGE_RETRY_S = (0.05, 0.1, 0.2, 0.4, 0.8)
PURGE_BACKGROUND_S = (1.0, 2.0, 5.0, 10.0, 30.0)  # the last one repeats
PURGE_TRY_BUSY_MS = 100  # how long one try waits for readers (under the write lock)
# Up to this size (file and WAL) the check at open is the full integrity_check: about
# 50 ms per MB warm, so at most ~0.8 s; beyond it, quick_check (~2 ms per MB).
FULL_CHECK_MAX_BYTES = 16 * 2**20


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
        # Set while erased data may still be in the file (see `purge_pending`).
        self._purge_task: asyncio.Task[None] | None = None
        self._purged = asyncio.Event()
        self._purged.set()

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        _check_folder(self.path)
        _check_not_empty(self.path)
        if not self.read_only:
            _check_not_on_read_only_mount(self.path)
        try:
            self._writer = await self._connect()
            await self._check_integrity(self._writer)
            if not self.read_only:
                await self._prepare_writer(self._writer)
                await self._check_writable(self._writer)
                await self._finish_earlier_purge()
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

    async def _check_integrity(self, conn: aiosqlite.Connection) -> None:
        """Refuse a damaged file before anything is read from it or written to it: a
        bot that answered from broken pages would answer wrongly, and writing to them
        spreads the damage. Files up to FULL_CHECK_MAX_BYTES get the full
        integrity_check, which also matches every index to its table (a flipped bit in
        an index page passes quick_check); larger ones the quick_check, which reads
        every page once but costs about a twentieth (bench/bench_open.py: 1.5 GB, 1M
        members, 3 s warm against 73 s)."""
        if self.path == ":memory:":
            return
        full = _stored_bytes(self.path) <= FULL_CHECK_MAX_BYTES
        pragma = "integrity_check(5)" if full else "quick_check(5)"
        try:
            found = [str(r[0]) for r in await (await conn.execute(f"PRAGMA {pragma}")).fetchall()]
        except sqlite3.Error as exc:
            raise classify(exc, self.path) from exc
        except UnicodeDecodeError as exc:  # the report quotes broken text
            raise damaged(self.path, f"{pragma.partition('(')[0]} failed") from exc
        if found != ["ok"]:
            raise damaged(self.path, "; ".join(found))

    async def _check_writable(self, conn: aiosqlite.Connection) -> None:
        """A file the bot can read but not write (read-only mount, immutable file) would
        fail every command one by one; say so at start instead."""
        if self.path == ":memory:":
            return
        try:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                # Rewrites the header's own value: a real write, rolled back.
                await conn.execute(f"PRAGMA application_id = {APP_ID}")
            finally:
                await conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            error = classify(exc, self.path)
            if error.reason == "locked":
                return  # someone else is writing: it is writable; the lock may pass
            if error.reason == "readonly":
                raise read_only_error(self.path) from exc
            raise error from exc

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
        await self._last_purge_try()
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
                await self._pause_autocheckpoint()
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
                    self._checkpoint_later()

    @contextlib.asynccontextmanager
    async def write_elsewhere(self) -> AsyncIterator[None]:
        """This process's write lock, held while another process (the rescore worker)
        writes one large transaction on a connection of its own with automatic
        checkpoints off; that transaction is checkpointed afterwards, as a deferred
        write is (see `write`)."""
        if self._writer is None:
            raise StorageError("closed", f"database {self.path} is not open")
        async with self._write_lock:
            await self._pause_autocheckpoint()
            try:
                yield
            finally:
                self._checkpoint_later()

    async def _pause_autocheckpoint(self) -> None:
        conn = self._writer
        if conn is None:
            return
        if self._autocheckpoint is None:
            row = await (await conn.execute("PRAGMA wal_autocheckpoint")).fetchone()
            self._autocheckpoint = int(row[0]) if row else 1000
        await conn.execute("PRAGMA wal_autocheckpoint = 0")

    def _checkpoint_later(self) -> None:
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
        await self._purge_old_copies()

    @property
    def purge_pending(self) -> bool:
        """True while erased data may still be readable in the database file or its WAL
        (another connection holds an older read snapshot); a background task finishes
        the purge as soon as it ends, and the next open does if the bot stops first."""
        return not self._purged.is_set()

    async def purge_finished(self) -> None:
        """Wait until the background checkpoint has run: no erased data is left in any
        file, and a WAL found at open is checkpointed (at once when neither waits)."""
        while (task := self._purge_task) is not None:
            await asyncio.wait({task})

    async def _purge_old_copies(self) -> None:
        """Checkpoint the erase into the database file and empty the WAL, retrying for
        about two seconds; after that a background task keeps trying."""
        if self.path == ":memory:":
            return
        for delay in (0.0, *PURGE_RETRY_S):
            if delay:
                await asyncio.sleep(delay)
            async with self._write_lock:
                if await self._truncate_wal(PURGE_TRY_BUSY_MS):
                    self._purge_done()
                    return
        if self._purge_task is None:
            log.warning("erased data is still in %s or its WAL: another connection holds an "
                        "older read snapshot; retrying until it ends", self.path)
        self._purged.clear()
        self._start_background_purge()

    def _start_background_purge(self) -> None:
        if self._purge_task is None:
            self._purge_task = asyncio.create_task(self._purge_in_background(),
                                                   name="erase-purge")

    async def _purge_in_background(self) -> None:
        delays = itertools.chain(PURGE_BACKGROUND_S, itertools.repeat(PURGE_BACKGROUND_S[-1]))
        for delay in delays:
            await asyncio.sleep(delay)
            async with self._write_lock:
                if self._writer is None:
                    return
                if await self._truncate_wal(PURGE_TRY_BUSY_MS):
                    self._purge_task = None
                    self._purge_done()
                    return

    def _purge_done(self) -> None:
        task, self._purge_task = self._purge_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        if not self._purged.is_set():
            log.info("erased data is now gone from %s and its WAL", self.path)
            self._purged.set()

    async def _last_purge_try(self) -> None:
        """At close, one more try, waiting the full busy timeout for readers."""
        task, self._purge_task = self._purge_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if not self.purge_pending or self._writer is None:
            return  # only a WAL in use by another process: its last close checkpoints it
        async with self._write_lock:
            if await self._truncate_wal(int(self.busy_timeout_s * 1000)):
                self._purge_done()
                return
        log.warning("erased data may stay readable in %s and %s-wal until klout-bot next "
                    "opens it (or the last connection to it closes): another connection "
                    "still reads an older snapshot", self.path, self.path)

    async def _finish_earlier_purge(self) -> None:
        """A WAL left behind (a crash, or a purge that a reader held up until the bot
        stopped) is checkpointed and emptied at open, so old copies of erased data go at
        the first chance after a restart."""
        if self.path == ":memory:" or not _wal_left(self.path):
            return
        async with self._write_lock:
            if await self._truncate_wal(0):
                log.info("checkpointed the WAL that an earlier run left next to %s", self.path)
                return
        # Another process has the file open (a second console, the reader that held up a
        # purge): keep trying in the background, as after an erase.
        log.info("the WAL next to %s is in use by another connection; checkpointing it "
                 "once that lets go", self.path)
        self._start_background_purge()

    async def _truncate_wal(self, busy_ms: int) -> bool:
        """One TRUNCATE checkpoint (caller holds the write lock). SQLite reports a reader
        in the way as a result row (busy = 1), not as an error."""
        conn = self._writer
        if conn is None:
            return False
        try:
            await conn.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
            try:
                row = await (await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")).fetchone()
            finally:
                await conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
        except sqlite3.Error as exc:
            log.warning("checkpoint of %s failed: %s", self.path, exc)
            return False
        return row is not None and int(row[0]) == 0

    async def run_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a bulk read in a worker thread on a private read-only connection."""
        def work() -> T:
            with reader(self.path, self.busy_timeout_s) as conn:
                return fn(conn)
        try:
            return await asyncio.to_thread(work)
        except sqlite3.Error as exc:
            raise classify(exc, self.path) from exc


def read_only_error(path: str) -> StorageError:
    return StorageError("readonly", f"database {path} is read-only: klout-bot must write "
                        "to it (check the mount, owner and permissions of the file and of "
                        "its folder, and `lsattr` for an immutable flag)")


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


def _stored_bytes(path: str) -> int:
    return sum(p.stat().st_size for p in (Path(path), Path(path + "-wal")) if p.is_file())


def _wal_left(path: str) -> bool:
    wal = Path(path + "-wal")
    return wal.is_file() and wal.stat().st_size > 0


def _check_not_on_read_only_mount(path: str) -> None:
    if path == ":memory:":
        return
    folder = Path(path).expanduser().resolve().parent
    if os.statvfs(folder).f_flag & os.ST_RDONLY:
        raise read_only_error(path)


def _check_not_empty(path: str) -> None:
    """An existing file of 0 bytes is not a new database: something truncated it (a full
    disk, a failed copy). Opening it would silently start over with no data."""
    if path == ":memory:":
        return
    file = Path(path).expanduser()
    if file.is_file() and file.stat().st_size == 0:
        raise StorageError("empty", f"{path} is an empty file (0 bytes), not a klout-bot "
                           "database; refusing to start over on it. If it held data, "
                           "restore it from a backup (docs/operations.md); to start a new "
                           "database, delete the file or pick another --db path")


def _check_folder(path: str) -> None:
    if path == ":memory:":
        return
    parent = Path(path).expanduser().resolve().parent
    if not parent.is_dir():
        raise StorageError("unopenable",
                           f"cannot open database {path}: folder {parent} does not exist")
