"""Shared helpers: a bot over a real SQLite file with a console destination, a fake clock,
and crash simulation by raising from the poster's step hook."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.adapters.console import ConsoleAdapter
from bot.app import KloutApp
from bot.clock import FixedClock
from bot.config import Config
from bot.storage.leaderboards import Destination
from scoring import MODEL_VERSION

COMMUNITY = "test"
CHANNEL = "weekly"
DAY = 86_400


class SimulatedCrash(BaseException):
    """The process dies here: nothing in the bot catches a BaseException."""


def crash_at(step: str):  # type: ignore[no-untyped-def]
    async def hook(current: str) -> None:
        if current == step:
            raise SimulatedCrash(step)
    return hook


@asynccontextmanager
async def running_bot(db: Path, now: datetime, *, config: Config | None = None
                      ) -> AsyncIterator[tuple[KloutApp, FixedClock, io.StringIO]]:
    """A fresh process: a new app and console adapter on the same database file."""
    clock = FixedClock(now)
    out = io.StringIO()
    async with KloutApp(config or Config(), clock=clock, db_path=db) as app:
        ConsoleAdapter(app, user="admin", community=COMMUNITY, stdin=io.StringIO(),
                       stdout=out, prompt=False)
        yield app, clock, out


async def add_destination(app: KloutApp, *, weekday: int = 0, time: str = "09:00",
                          timezone: str = "Europe/Berlin", top: int = 10,
                          destination: str = CHANNEL, since: datetime) -> Destination:
    return await app.store.leaderboards.upsert_destination(
        platform="console", community=COMMUNITY, destination=destination, weekday=weekday,
        time=time, timezone=timezone, top=top, source="config", now=int(since.timestamp()))


async def seed_scores(app: KloutApp, scores: Mapping[str, int], at: datetime, *,
                      names: Mapping[str, str] | None = None) -> None:
    """Write a full rescore result as of `at` (which also snapshots that UTC day)."""
    comm = await app.store.communities.ensure("console", COMMUNITY, "Test community")
    rows = []
    ordered = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    for rank, (who, score) in enumerate(ordered, start=1):
        label = (names or {}).get(who, who)
        account = await app.store.accounts.ensure("console", who, display_name=label,
                                                  handle=who)
        rows.append((account, score, float(score), rank, 1.0))
    # The current model's version: scores of another one are recomputed at the first check.
    await app.store.scores.replace_all(comm.id, rows, MODEL_VERSION, int(at.timestamp()), 0)


async def console_posts(app: KloutApp, destination: str = CHANNEL) -> list[str]:
    return [p.text for p in await app.store.leaderboards.console_posts(destination, 0)]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def week_before(at: datetime) -> datetime:
    return at - timedelta(days=8)
