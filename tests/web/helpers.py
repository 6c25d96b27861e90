"""A scored console community on the web: the real bot, a real SQLite file, a real
aiohttp server on a free loopback port."""

from __future__ import annotations

import io
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot.adapters.console import ConsoleAdapter
from bot.app import KloutApp
from bot.clock import FixedClock
from bot.config import Config, WebSection
from bot.ingest import Activity
from bot.web.server import WebServer
from commands.types import Person
from scoring.kinds import Kind
from tests.core.helpers import T0, ConsoleBot

COMMUNITY = "webtest"
SCRIPT = "<script>alert(1)</script>"
BOLD = "<b>x</b>"
# Console users can opt out and forget themselves by typing /privacy (their ids are
# their lower-cased names); the two names with markup come in as display names.
PEOPLE = [Person("console", f"m{i:02d}", f"member{i:02d}") for i in range(24)] + [
    Person("console", "script", SCRIPT), Person("console", "bold", BOLD)]


@dataclass
class WebBot:
    bot: ConsoleBot
    server: WebServer
    slug: str

    @property
    def app(self) -> KloutApp:
        return self.bot.app

    @property
    def base(self) -> str:
        return self.server.url

    @property
    def board_url(self) -> str:
        return f"{self.server.url}/c/{self.slug}/"


def activity(now_days: int = 0) -> list[Activity]:
    rng = random.Random(15)
    acts = []
    for n in range(400):
        actor, target = rng.sample(PEOPLE, 2)
        # The two markup names draw many responses, so they are on page 1.
        if n % 5 == 0:
            target = PEOPLE[-1 - (n // 5) % 2]
        when = T0 - timedelta(days=rng.uniform(0, 40) + now_days)
        acts.append(Activity("console", COMMUNITY, actor, Kind.REPLY, when, target, "general",
                             f"w{n}"))
    return acts


@asynccontextmanager
async def web_bot(db: Path, *, web: WebSection | None = None, enable: bool = True
                  ) -> AsyncIterator[WebBot]:
    clock = FixedClock(T0)
    web = web or WebSection(enabled=True, port=0, page_size=10, rate_limit_burst=10_000,
                            rate_limit_per_minute=100_000)
    async with KloutApp(Config(web=web), clock=clock, db_path=db) as app:
        await app.ingestor.record(activity())
        await app.rescore_community("console", COMMUNITY)
        adapter = ConsoleAdapter(app, user="admin", community=COMMUNITY, stdin=io.StringIO(),
                                 stdout=io.StringIO(), prompt=False)
        bot = ConsoleBot(app, adapter, clock)
        if enable:
            await bot.say("/kloutadmin web on")
        settings = await app.settings.view("console", COMMUNITY)
        slug = settings.web_url.rstrip("/").rpartition("/")[2] if settings.web_url else ""
        async with WebServer(app, web) as server:
            yield WebBot(bot, server, slug)
