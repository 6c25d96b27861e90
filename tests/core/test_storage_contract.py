"""One contract for the storage layer, run against every backend we ship.

Today that is SQLite in WAL mode on a real file, and SQLite on a real file
reopened between steps (what a restart looks like). A new backend joins by
adding a fixture param.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import EventRow, Storage, StorageError


@pytest.fixture(params=["sqlite-wal"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    async with Storage(tmp_path / "contract.db") as s:
        yield s


async def test_schema_is_versioned_and_wal(store: Storage) -> None:
    row = await store.db.fetchone("PRAGMA user_version")
    assert row is not None and row[0] >= 1
    mode = await store.db.fetchone("PRAGMA journal_mode")
    assert mode is not None and mode[0] == "wal"


async def test_accounts_upsert_keeps_names(store: Storage) -> None:
    first = await store.accounts.ensure("discord", "1", display_name="Ana")
    again = await store.accounts.ensure("discord", "1", handle="ana")
    assert first == again
    account = await store.accounts.get(first)
    assert account is not None
    assert (account.display_name, account.handle) == ("Ana", "ana")
    found = await store.accounts.find_by_name("discord", "ANA")
    assert found is not None and found.id == first


async def test_events_are_deduplicated(store: Storage) -> None:
    comm = await store.communities.ensure("discord", "g1")
    a = await store.accounts.ensure("discord", "1")
    b = await store.accounts.ensure("discord", "2")
    row = EventRow(comm.id, 1, a, b, 1_700_000_000, "c", "m1")
    await store.events.add_many([row, row])
    await store.events.add_many([row])
    assert await store.events.count(comm.id) == 1


async def test_remove_source_deletes_one_reaction(store: Storage) -> None:
    comm = await store.communities.ensure("discord", "g1")
    a = await store.accounts.ensure("discord", "a")
    b = await store.accounts.ensure("discord", "b")
    c = await store.accounts.ensure("discord", "c")
    await store.events.add_many([
        EventRow(comm.id, 3, a, c, 1, "ch", "m1"),
        EventRow(comm.id, 3, b, c, 1, "ch", "m1"),
    ])
    assert await store.events.remove_source(comm.id, "m1", kind=3, actor_id=a) == 1
    assert await store.events.count(comm.id) == 1


async def test_communities_are_isolated(store: Storage) -> None:
    g1 = await store.communities.ensure("discord", "g1")
    g2 = await store.communities.ensure("discord", "g2")
    a = await store.accounts.ensure("discord", "a")
    b = await store.accounts.ensure("discord", "b")
    await store.events.add_many([EventRow(g1.id, 1, a, b, 1, "", "x")])
    await store.scores.replace_all(g1.id, [(b, 40, 1.0, 1, 0.1)], "v", 86_400, 1)
    assert await store.scores.get(g2.id, b) is None
    assert await store.scores.count(g2.id) == 0
    assert await store.events.count(g2.id) == 0
    assert (await store.scores.get(g1.id, b)) is not None


async def test_board_hides_opted_out(store: Storage) -> None:
    g = await store.communities.ensure("console", "t")
    ids = [await store.accounts.ensure("console", n, display_name=n) for n in "abc"]
    await store.scores.replace_all(g.id, [(ids[0], 50, 3.0, 1, 0), (ids[1], 40, 2.0, 2, 0),
                                          (ids[2], 30, 1.0, 3, 0)], "v", 86_400 * 10, 3)
    await store.db.execute("UPDATE accounts SET opted_out = 1 WHERE id = ?", (ids[0],))
    board = await store.scores.board(g.id, 0, 10, None)
    assert [e.name for e in board] == ["b", "c"]
    assert [e.rank for e in board] == [1, 2]
    assert await store.scores.visible_rank(g.id, ids[2]) == 2


async def test_history_one_snapshot_per_day(store: Storage) -> None:
    g = await store.communities.ensure("console", "t")
    a = await store.accounts.ensure("console", "a")
    await store.scores.replace_all(g.id, [(a, 10, 1.0, 1, 0)], "v", 86_400 * 5 + 10, 1)
    await store.scores.replace_all(g.id, [(a, 12, 1.0, 1, 0)], "v", 86_400 * 5 + 99, 1)
    await store.scores.replace_all(g.id, [(a, 15, 1.0, 1, 0)], "v", 86_400 * 6, 1)
    assert await store.scores.history(g.id, a, 0) == [(5, 12), (6, 15)]
    assert await store.scores.score_on(g.id, a, 5) == 12


async def test_reopen_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "persist.db"
    async with Storage(path) as s:
        await s.accounts.ensure("console", "ana", display_name="Ana")
    async with Storage(path) as s:
        account = await s.accounts.by_external("console", "ana")
        assert account is not None and account.display_name == "Ana"


async def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError) as err:
        async with Storage(path):
            pass
    assert err.value.reason == "corrupt"
    assert str(path) in str(err.value)


async def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(StorageError) as err:
        async with Storage(path):
            pass
    assert err.value.reason == "foreign"


async def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        async with Storage(tmp_path / "no" / "such" / "x.db"):
            pass


async def test_locked_database_gives_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    async with Storage(path):
        pass
    blocker = sqlite3.connect(path)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        async with Storage(path, busy_timeout_s=0.05) as s:
            with pytest.raises(StorageError) as err:
                await s.accounts.ensure("console", "x", display_name="X")
        assert err.value.reason == "locked"
        assert str(path) in str(err.value)
    finally:
        blocker.rollback()
        blocker.close()


async def test_read_only_database(tmp_path: Path) -> None:
    # chmod cannot make a file read-only for root (CI runs as root), so open it the way
    # a read-only mount or permission would leave it: SQLite's mode=ro.
    path = tmp_path / "ro.db"
    async with Storage(path) as s:
        await s.accounts.ensure("console", "a")
    async with Storage(path, read_only=True) as s:
        assert await s.accounts.by_external("console", "a") is not None
        with pytest.raises(StorageError) as err:
            await s.accounts.ensure("console", "b", display_name="B")
    assert err.value.reason == "readonly"
    assert str(path) in str(err.value)


async def test_every_shipped_migration_is_recorded_once(tmp_path: Path) -> None:
    from bot.storage.db import migrations

    path = tmp_path / "m.db"
    for _ in range(2):  # reopening applies nothing twice
        async with Storage(path) as s:
            rows = await s.db.fetchall("SELECT number FROM schema_migrations ORDER BY number")
    assert [r[0] for r in rows] == [number for number, _, _ in migrations()]


async def test_a_late_lower_numbered_migration_still_runs(tmp_path: Path) -> None:
    from bot.storage.db import migrations

    path = tmp_path / "late.db"
    async with Storage(path):
        pass
    import re

    # Simulate a database that never saw an early migration (it landed after a later
    # one): pick one that only creates tables, and undo it.
    number, sql = next((n, q) for n, _, q in migrations()[1:-1]
                       if "ALTER" not in q.upper() and "INSERT" not in q.upper())
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM schema_migrations WHERE number = ?", (number,))
    for table in re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", sql, re.IGNORECASE):
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    pattern = r"CREATE (?:UNIQUE )?INDEX (?:IF NOT EXISTS )?(\w+)"
    for index in re.findall(pattern, sql, re.IGNORECASE):
        conn.execute(f"DROP INDEX IF EXISTS {index}")
    conn.commit()
    conn.close()
    async with Storage(path) as s:
        row = await s.db.fetchone(
            "SELECT count(*) FROM schema_migrations WHERE number = ?", (number,))
        assert row is not None and row[0] == 1


async def test_database_from_before_migration_tracking_is_adopted(tmp_path: Path) -> None:
    from bot.storage.db import migrations

    path = tmp_path / "old.db"
    async with Storage(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE schema_migrations")
    conn.commit()
    conn.close()
    async with Storage(path) as s:
        rows = await s.db.fetchall("SELECT number FROM schema_migrations ORDER BY number")
    assert [r[0] for r in rows] == [number for number, _, _ in migrations()]
