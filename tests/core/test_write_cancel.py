"""A write cancelled while its BEGIN runs leaves no transaction open behind it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.storage import Storage


async def test_a_write_cancelled_during_begin_leaves_the_connection_usable(
        tmp_path: Path) -> None:
    async with Storage(tmp_path / "w.db") as store:
        entered = []

        async def write() -> None:
            async with store.db.write():
                entered.append(True)

        task = asyncio.create_task(write())
        await asyncio.sleep(0)  # the task now waits on BEGIN, queued on the db thread
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled() and not entered
        # Without the ROLLBACK: "cannot start a transaction within a transaction".
        async with store.db.write() as conn:
            await conn.execute("SELECT 1")
        await store.communities.ensure("discord", "g1")
