"""The composition root: builds every service once and owns their lifecycle.

    async with KloutApp(config, clock=SystemClock()) as app:
        reply, rendered = await app.handle(request)
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot.cards.service import CardImages
from bot.clock import Clock
from bot.config import Config
from bot.ingest import Ingestor
from bot.leaderboards.desk import LeaderboardDesk
from bot.leaderboards.poster import LeaderboardPoster, adapter_targets
from bot.render import Rendered, Renderer
from bot.services.card_cache import CardCache
from bot.services.card_refresh import CardRefresher
from bot.services.freshness import FreshScores
from bot.services.influence import InfluenceService
from bot.services.linked import LinkedInfluence
from bot.services.privacy import PrivacyService, PrivacySettings
from bot.services.rescore import Rescorer
from bot.services.rescore_worker import RescoreWorker
from bot.services.settings import SettingsService
from bot.storage import EventWriter, Storage
from commands import build_router
from commands.cooldown import CommandLimiter, CooldownRules
from commands.ports import Influence
from commands.router import Router
from commands.types import Reply, Request

log = logging.getLogger(__name__)
# A community of this many scored members is rescored in the worker process
# (bot/services/rescore_worker.py): below it a rescore takes a few ms of threads, too
# little to disturb the loop, and most never pay for starting the process.
PROCESS_MIN_MEMBERS = 2_000


@dataclass(frozen=True)
class BotPorts:
    """The services command handlers may use (commands.ports.Ports)."""

    influence: Influence
    bot_name: str
    settings: SettingsService
    privacy: PrivacyService
    leaderboards: LeaderboardDesk


def web_base_url(config: Config) -> str | None:
    """Where this bot's web leaderboard is reached; None when it serves none."""
    web = config.web
    if not web.enabled:
        return None
    return web.base_url or f"http://{web.host}:{web.port}"


class KloutApp:
    def __init__(self, config: Config, *, clock: Clock, db_path: str | Path | None = None,
                 renderer: Renderer | None = None) -> None:
        self.config = config
        self.clock = clock
        self.db_path = str(db_path if db_path is not None else config.storage.path)
        self.renderer = renderer or Renderer()
        self.store = Storage(self.db_path, busy_timeout_s=config.storage.busy_timeout_s)
        st = config.storage
        self.writer = EventWriter(self.store.events, batch_size=st.batch_size,
                                  flush_interval_s=st.flush_interval_ms / 1000,
                                  fold_rows=st.fold_rows,
                                  fold_interval_s=st.fold_interval_ms / 1000)
        model = config.scoring.model
        # Big communities are read and scored in a worker process, off the loop's GIL.
        self.rescorer = Rescorer(
            self.store, model, worker=RescoreWorker(self.db_path, st.busy_timeout_s),
            process_min_members=PROCESS_MIN_MEMBERS)
        self.influence = InfluenceService(self.store, model, config.bot.leaderboard_page_size)
        self.rescorer.listeners.append(self.influence.rescored)
        self.settings = SettingsService(self.store, model,
                                        cards_by_default=config.cards.enabled_by_default,
                                        web_base_url=web_base_url(config))
        p = config.privacy
        self.privacy = PrivacyService(
            self.store, PrivacySettings(p.link_code_minutes, p.confirm_minutes, p.contact),
            flush=self.writer.flush)
        lim = config.limits
        self.limiter = CommandLimiter(CooldownRules(
            lim.user_cooldown_s, lim.channel_window_s, lim.channel_max_commands,
            tuple(lim.platforms), user_burst=lim.user_burst))
        # Running adapters by platform name; the runner (or the console) registers them,
        # and the weekly leaderboard posts through them.
        self.adapters: dict[str, object] = {}
        self.leaderboards = LeaderboardPoster(
            self.store, self.influence, self.renderer,
            grace=timedelta(hours=config.bot.leaderboard_catch_up_hours),
            targets=adapter_targets(self.adapters))
        # /klout cards, kept until a rescore, a consent or settings change, or a new day.
        self.cards = CardCache(LinkedInfluence(self.influence, self.store, model), self.store)
        self.settings.listeners.append(self.cards.community_changed)
        self.card_refresher = CardRefresher(self.cards, clock,
                                            limit=config.bot.card_refresh_ahead)
        self.rescorer.listeners.append(self.card_refresher.rescored)
        # Every cached card is stale after a privacy change; drop them (and their
        # renders) at once rather than keep a forgotten person's name until evicted.
        # Score cards and leaderboards as images, drawn in worker processes on demand.
        self.images = CardImages(config.cards)
        self.store.privacy.listeners += [self.cards.clear, self.renderer.forget_memo,
                                         self.images.forget]
        self.ports = BotPorts(self.cards, config.bot.name, self.settings, self.privacy,
                              leaderboards=LeaderboardDesk(self.leaderboards))
        self.router: Router = build_router(self.ports)
        self.ingestor = Ingestor(self.store, self.writer)
        # The member count a /klout needs too: one count per rescore, shared.
        self.freshness = FreshScores(self.rescorer, self.writer.flush, self.influence.members,
                                     clock, delay_s=config.bot.fresh_scores_after_s,
                                     max_members=config.bot.fresh_scores_max_members)
        self.store.events.changed.append(self.freshness.changed)
        # From the moment a background rescore writes until its listeners have started
        # the refresher too: the cards are about to be rebuilt.
        self.cards.rebuilding = lambda cid: (self.freshness.rescoring(cid) or (
            self.freshness.in_background(cid) and self.card_refresher.busy(cid)))
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> KloutApp:
        try:
            await self._stack.enter_async_context(self.store)
            self._stack.push_async_callback(self.rescorer.close)
            await self.rescorer.start()
            await self.store.privacy.load()
            await self._stack.enter_async_context(self.writer)
            self._stack.push_async_callback(self.card_refresher.close)
            self._stack.push_async_callback(self.images.close)
            self._stack.push_async_callback(self.freshness.close)
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def handle(self, request: Request) -> tuple[Reply, Rendered]:
        """Dispatch and render. Rendering failures are bugs, but never reach a chat."""
        reply = self.limiter.check(request) or await self.router.dispatch(request)
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
