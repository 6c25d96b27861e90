"""Shared test helpers: a console-driven bot over a real SQLite file (errbot-style)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from bot.adapters.console import ConsoleAdapter
from bot.app import KloutApp
from bot.clock import FixedClock
from bot.config import Config

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class ConsoleBot:
    """Feed lines, get the printed answer back, like errbot's testbot.exec_command."""

    def __init__(self, app: KloutApp, adapter: ConsoleAdapter, clock: FixedClock) -> None:
        self.app, self.adapter, self.clock = app, adapter, clock

    async def say(self, line: str, *, as_: str | None = None) -> str:
        if as_ is not None:
            await self.adapter.exec_line(f"/as {as_}")
        return await self.adapter.exec_line(line)


@asynccontextmanager
async def console_bot(db: Path, *, user: str = "ana", community: str = "test",
                      config: Config | None = None, now: datetime = T0
                      ) -> AsyncIterator[ConsoleBot]:
    clock = FixedClock(now)
    async with KloutApp(config or Config(), clock=clock, db_path=db) as app:
        adapter = ConsoleAdapter(app, user=user, community=community, stdin=io.StringIO(),
                                 stdout=io.StringIO(), prompt=False)
        yield ConsoleBot(app, adapter, clock)
