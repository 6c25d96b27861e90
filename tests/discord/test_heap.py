"""`klout-bot run` freezes what start-up built once connected; tests' adapters don't."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from bot.adapters.discord import DiscordAdapter
from bot.adapters.discord_endpoints import apply_endpoints, current_endpoints
from bot.app import KloutApp
from bot.clock import SystemClock
from tests.discord.harness import TIMEOUT, bot_config
from tests.fakes.discord_fake import FakeDiscord


async def test_the_start_up_heap_is_frozen_once_ready(fake: FakeDiscord, tmp_path: Path) -> None:
    previous = current_endpoints()
    db = tmp_path / "h.db"
    assert gc.get_freeze_count() == 0
    try:
        async with KloutApp(bot_config(fake, db), clock=SystemClock(), db_path=db) as app:
            adapter = DiscordAdapter(app, token=fake.token, reidentify_pause=False,
                                     freeze_heap=True)
            runner = asyncio.create_task(adapter.run())
            try:
                await asyncio.wait_for(adapter.client.wait_until_ready(), TIMEOUT)
                # on_ready listeners run as tasks of their own: give them their turn.
                for _ in range(100):
                    if gc.get_freeze_count():
                        break
                    await asyncio.sleep(0.01)
                assert gc.get_freeze_count() > 0
            finally:
                gc.unfreeze()
                await adapter.close()
                await asyncio.wait_for(runner, TIMEOUT)
    finally:
        apply_endpoints(*previous)
