"""The composition root: builds every service once and owns their lifecycle.

    async with KloutApp(config, clock=SystemClock()) as app:
        reply, rendered = await app.handle(request)
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

from bot.clock import Clock
from bot.config import Config
from bot.ingest import Ingestor
from bot.render import Rendered, Renderer
from bot.services.influence import InfluenceService
from bot.services.rescore import Rescorer
from bot.storage import EventWriter, Storage
from commands import build_router
from commands.router import Router
from commands.types import Reply, Request

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BotPorts:
    """The services command handlers may use (commands.ports.Ports)."""

    influence: InfluenceService
    bot_name: str


class KloutApp:
    def __init__(self, config: Config, *, clock: Clock, db_path: str | Path | None = None,
                 renderer: Renderer | None = None) -> None:
        self.config = config
        self.clock = clock
        self.db_path = str(db_path if db_path is not None else config.storage.path)
        self.renderer = renderer or Renderer()
        self.store = Storage(self.db_path, busy_timeout_s=config.storage.busy_timeout_s)
        self.writer = EventWriter(self.store.events, batch_size=config.storage.batch_size,
                                  flush_interval_s=config.storage.flush_interval_ms / 1000)
        model = config.scoring.model
        self.rescorer = Rescorer(self.store, model)
        self.influence = InfluenceService(self.store, model, config.bot.leaderboard_page_size)
        self.ports = BotPorts(self.influence, config.bot.name)
        self.router: Router = build_router(self.ports)
        self.ingestor = Ingestor(self.store, self.writer)
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> KloutApp:
        try:
            await self._stack.enter_async_context(self.store)
            await self._stack.enter_async_context(self.writer)
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def handle(self, request: Request) -> tuple[Reply, Rendered]:
        """Dispatch and render. Rendering failures are bugs, but never reach a chat."""
        reply = await self.router.dispatch(request)
        try:
            return reply, self.renderer.render(reply, request.platform)
        except Exception:
            log.exception("rendering %s failed for %s", reply.template, request.platform)
            fallback = Reply("errors/internal", {}, ephemeral=True, tone="error")
            return fallback, self.renderer.render(fallback, request.platform)

    async def rescore_community(self, platform: str, community: str, *,
                                only_if_stale: bool = False) -> None:
        await self.writer.flush()
        comm = await self.store.communities.ensure(platform, community)
        now = self.clock.now().timestamp()
        if only_if_stale:
            await self.rescorer.rescore_if_stale(comm.id, now)
        else:
            await self.rescorer.rescore(comm.id, now)
