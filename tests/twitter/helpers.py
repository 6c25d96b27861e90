"""A TwitterAdapter over a real SQLite file, talking real tweepy to a local FakeX.

Time is one FixedClock shared by the bot and the fake (so rate-limit resets and UTC
billing days agree), and the adapter's sleep advances that clock instead of waiting.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.adapters.twitter import PollReport, TwitterAdapter
from bot.adapters.x_transport import make_async_client
from bot.app import KloutApp
from bot.clock import FixedClock
from bot.config import Config, TwitterSection
from tests.fakes.x_fake import FakePost, FakeX

T0 = datetime(2026, 3, 2, 0, 10, tzinfo=UTC)


class ClockSleep:
    """The adapter's sleep: moves the shared clock, never waits on wall time."""

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.advance(timedelta(seconds=max(seconds, 0.0)))
        await asyncio.sleep(0)


@dataclasses.dataclass
class XBot:
    app: KloutApp
    adapter: TwitterAdapter
    fake: FakeX
    clock: FixedClock
    sleep: ClockSleep

    async def poll(self, *, advance_s: float = 60.0) -> PollReport:
        """One poll, then the poll interval passes."""
        report = await self.adapter.poll_once()
        self.clock.advance(timedelta(seconds=advance_s))
        return report

    def bot_replies(self, mention: FakePost) -> list[FakePost]:
        return [p for p in self.fake.replies_to(mention) if p.author_id == self.fake.bot.id]

    async def statuses(self) -> dict[str, str]:
        rows = await self.app.store.db.fetchall("SELECT post_id, status FROM x_mentions")
        return {str(r[0]): str(r[1]) for r in rows}


def config_with(**twitter: Any) -> Config:
    return Config().with_overrides(twitter=dataclasses.replace(TwitterSection(), **twitter))


@asynccontextmanager
async def x_bot(db: Path, fake: FakeX, clock: FixedClock, *, seed: int = 1,
                **twitter: Any) -> AsyncIterator[XBot]:
    twitter.setdefault("api_base", fake.api_base)
    twitter.setdefault("request_timeout_s", 2.0)
    config = config_with(**twitter)
    sleep = ClockSleep(clock)
    async with KloutApp(config, clock=clock, db_path=db) as app:
        client = make_async_client(fake.api_base, **fake.credentials(),
                                   timeout=config.twitter.request_timeout_s)
        import random

        adapter = TwitterAdapter(app, client, sleep=sleep, rng=random.Random(seed))
        try:
            yield XBot(app, adapter, fake, clock, sleep)
        finally:
            await adapter.close()


@asynccontextmanager
async def fake_x(clock: FixedClock, **kwargs: Any) -> AsyncIterator[FakeX]:
    async with FakeX(bot_username="KloutBot", clock=clock.now, **kwargs) as fake:
        yield fake
