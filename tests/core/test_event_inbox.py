"""The ingestion inbox: rows land there first and reach events exactly once, across
crashes, failed folds, removals, forgets and wipes."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import textwrap
from pathlib import Path

import pytest

from bot.storage import EventRow, Storage, StorageError
from bot.storage.events import EventWriter
from bot.storage.models import Account

ROOT = Path(__file__).resolve().parents[2]
REACTION, MESSAGE = 3, 0


def count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


async def people(store: Storage, *names: str) -> tuple[int, list[int]]:
    community = await store.communities.ensure("discord", "g1")
    return community.id, [await store.accounts.ensure("discord", n) for n in names]


def rows_for(community: int, ids: list[int], n: int) -> list[EventRow]:
    """n messages, each with a reaction from the next person."""
    out = []
    for i in range(n):
        actor, other = ids[i % len(ids)], ids[(i + 1) % len(ids)]
        out.append(EventRow(community, MESSAGE, actor, 0, 1_700_000_000 + i, "c", f"m{i}"))
        out.append(EventRow(community, REACTION, other, actor, 1_700_000_000 + i, "c", f"m{i}"))
    return out


async def test_rows_in_the_inbox_survive_a_kill_and_are_folded_once(tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    # A real process appends to the inbox and is killed before any fold.
    script = textwrap.dedent(f"""
        import asyncio, os, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        from bot.storage import Storage
        from tests.core.test_event_inbox import people, rows_for

        async def main():
            async with Storage({str(db)!r}) as store:
                community, ids = await people(store, "a", "b", "c")
                await store.events.append(rows_for(community, ids, 50))
                os.kill(os.getpid(), signal.SIGKILL)

        asyncio.run(main())
    """)
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", script,
                                                stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(60):
        _, stderr = await proc.communicate()
    assert proc.returncode == -signal.SIGKILL, stderr.decode()
    assert count(db, "SELECT count(*) FROM event_inbox") == 100
    assert count(db, "SELECT count(*) FROM events") == 0

    async with Storage(db) as store:
        writer = EventWriter(store.events)
        async with writer:  # starting folds what the killed process left
            assert count(db, "SELECT count(*) FROM event_inbox") == 0
            assert count(db, "SELECT count(*) FROM events") == 100
            community, ids = await people(store, "a", "b", "c")
            # The gateway (or a backfill) replays all of it, and a little more.
            writer.submit(rows_for(community, ids, 60))
            await writer.flush()
        assert await store.events.count(community) == 120
    assert count(db, "SELECT count(*) FROM event_inbox") == 0


async def test_a_failed_fold_keeps_every_row_in_the_inbox(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    async with Storage(db) as store:
        community, ids = await people(store, "a", "b")
        await store.events.append(rows_for(community, ids, 20))
        async with store.db.write() as conn:  # the fold's last statement will fail
            await conn.execute("CREATE TEMP TRIGGER boom BEFORE DELETE ON main.event_inbox "
                               "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END")
        with pytest.raises(StorageError):
            await store.events.fold()
        # Rolled back as a whole: nothing reached events, nothing left the inbox.
        assert count(db, "SELECT count(*) FROM events") == 0
        assert count(db, "SELECT count(*) FROM event_inbox") == 40
        async with store.db.write() as conn:
            await conn.execute("DROP TRIGGER boom")
        assert await store.events.fold() == 40
        assert await store.events.fold() == 0
        assert await store.events.count(community) == 40


async def test_a_removal_reaches_rows_still_in_the_inbox(tmp_path: Path) -> None:
    async with Storage(tmp_path / "r.db") as store:
        community, (a, b, c) = await people(store, "a", "b", "c")
        await store.events.append([
            EventRow(community, MESSAGE, a, 0, 1, "c", "m1"),
            EventRow(community, REACTION, b, a, 2, "c", "m1"),
            EventRow(community, REACTION, c, a, 3, "c", "m1"),
        ])
        assert await store.events.remove_source(community, "m1", kind=REACTION, actor_id=b) == 1
        rows = await store.db.fetchall("SELECT kind, actor_id FROM events ORDER BY id")
        assert [tuple(r) for r in rows] == [(MESSAGE, a), (REACTION, c)]
        assert await store.db.fetchall("SELECT * FROM event_inbox") == []
        # A reaction replayed after its removal is a new reaction: it counts again.
        await store.events.append([EventRow(community, REACTION, b, a, 4, "c", "m1")])
        assert await store.events.count(community) == 3


async def test_forget_reaches_rows_still_in_the_inbox(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    async with Storage(db) as store:
        await store.privacy.load()
        community, (x, y, z) = await people(store, "x", "y", "z")
        await store.events.add_many([EventRow(community, REACTION, x, y, 1, "c", "m0")])
        await store.events.append([
            EventRow(community, MESSAGE, x, 0, 2, "c", "m1"),
            EventRow(community, REACTION, y, x, 3, "c", "m1"),
            EventRow(community, REACTION, z, y, 4, "c", "m2"),
        ])
        account = await store.accounts.get(x)
        assert isinstance(account, Account)
        footprint = await store.privacy.footprint([account])
        assert (footprint.events_made, footprint.events_received) == (2, 1)
        await store.privacy.forget([account])
        assert count(db, "SELECT count(*) FROM event_inbox") == 0
        rows = await store.db.fetchall("SELECT actor_id, target_id FROM events")
        assert [tuple(r) for r in rows] == [(z, y)]


async def test_forget_deletes_inbox_rows_that_arrive_after_the_fold(tmp_path: Path) -> None:
    """Rows appended between forget's fold and its delete still go (the delete covers
    every table with actor_id/target_id columns, the inbox included)."""
    db = tmp_path / "q.db"
    async with Storage(db) as store:
        await store.privacy.load()
        community, (x, y) = await people(store, "x", "y")
        account = await store.accounts.get(x)
        assert isinstance(account, Account)
        original_fold = store.events.fold

        async def fold_then_more_arrive() -> int:
            moved = await original_fold()
            await store.events.append([EventRow(community, REACTION, y, x, 5, "c", "late")])
            return moved

        store.events.fold = fold_then_more_arrive  # type: ignore[method-assign]
        await store.privacy.forget([account])
        assert count(db, "SELECT count(*) FROM event_inbox") == 0
        assert count(db, "SELECT count(*) FROM events") == 0


async def test_a_wipe_reaches_rows_still_in_the_inbox(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    async with Storage(db) as store:
        community, ids = await people(store, "a", "b")
        other = (await store.communities.ensure("discord", "g2")).id
        await store.events.append(rows_for(community, ids, 5) + rows_for(other, ids, 3))
        row = await store.privacy.community("discord", "g1")
        assert row is not None
        deleted = await store.privacy.delete_community(row, keep_config=True)
        assert deleted.events_made == 10
        assert count(db, "SELECT count(*) FROM event_inbox") == 0
        assert count(db, f"SELECT count(*) FROM events WHERE community_id = {community}") == 0
        assert count(db, f"SELECT count(*) FROM events WHERE community_id = {other}") == 6


async def test_the_writer_folds_in_the_background(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    async with Storage(db) as store:
        community, ids = await people(store, "a", "b")
        # No timer involved: a full batch wakes the writer, and the batch is a fold's worth.
        writer = EventWriter(store.events, batch_size=10, flush_interval_s=3600,
                             fold_rows=10, fold_interval_s=3600)
        async with writer:
            folded = asyncio.Event()
            fold = store.events.fold

            async def observed_fold() -> int:
                moved = await fold()
                folded.set()
                return moved

            store.events.fold = observed_fold  # type: ignore[method-assign]
            writer.submit(rows_for(community, ids, 5))
            async with asyncio.timeout(10):
                await folded.wait()
            assert count(db, "SELECT count(*) FROM events") == 10
            assert count(db, "SELECT count(*) FROM event_inbox") == 0
            # Below a batch: it waits in memory (then the inbox) until a flush.
            writer.submit(rows_for(community, ids, 1))
            assert count(db, "SELECT count(*) FROM events") == 10
            await writer.flush()
            assert count(db, "SELECT count(*) FROM events") == 10  # m0 again: a duplicate
            assert writer.written == 12


async def test_a_read_only_open_reads_events_without_folding(tmp_path: Path) -> None:
    db = tmp_path / "ro.db"
    async with Storage(db) as store:
        community, ids = await people(store, "a", "b")
        await store.events.add_many(rows_for(community, ids, 2))
        await store.events.append(rows_for(community, ids, 3))
    os.chmod(db, 0o444)
    try:
        async with Storage(db, read_only=True) as store:
            assert await store.events.count(community) == 4
    finally:
        os.chmod(db, 0o644)


async def test_folded_rows_leave_no_readable_copy_in_the_inbox(tmp_path: Path) -> None:
    db = tmp_path / "z.db"
    async with Storage(db) as store:
        # As on SQLite builds where secure_delete is off by default: ordinary deletes
        # leave old bytes in free pages; only erasures (a forget) zero them.
        async with store.db.write() as conn:
            await conn.execute("PRAGMA secure_delete = OFF")
        community, ids = await people(store, "a", "b")
        marker = "m" + "7" * 30  # a source no other page holds
        await store.events.append([EventRow(community, MESSAGE, ids[0], 0, i, "c", marker)
                                   for i in range(200)])
        await store.events.fold()
        async with store.db.erasing() as conn:  # what a forget does to the folded row
            await conn.execute("DELETE FROM events WHERE source = ?", (marker,))
    assert marker.encode() not in db.read_bytes()
