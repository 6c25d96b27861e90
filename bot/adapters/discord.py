"""The Discord adapter: discord.py in, commands.types and Activities out.

Intents: guilds, guild_messages, guild_reactions. No members, no presences, no
message_content: Discord still delivers the text of messages that mention the bot
(all the mention commands need), and ingestion needs no text at all.

Ingestion reads the gateway's MESSAGE_CREATE / MESSAGE_REACTION_* / MESSAGE_DELETE*
payloads directly (see discord_events): building a discord.py Message costs ~75 µs,
more than everything ingestion does per event. discord.py still parses the messages
that may ask the bot something (they mention it, or come by DM), so on_message works
for those; other guild messages, the bot's own (every /klout answer comes back as one:
parsing it was ~10% of a /klout's event-loop time) and all reactions skip its parser,
since nothing here listens to them. Deletions pass through as usual.

Commands are synced on demand (`klout-bot sync-commands`), never on connect.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import discord
from discord.ext import commands

from bot.adapters import discord_turns
from bot.adapters.base import AdapterFailed, DeliveryError
from bot.adapters.discord_backfill import Backfill
from bot.adapters.discord_commands import KloutCommands
from bot.adapters.discord_endpoints import apply_endpoints
from bot.adapters.discord_events import INGESTED_EVENTS, GatewayEvents
from bot.adapters.discord_ingest import PLATFORM
from bot.adapters.discord_reply import NO_PINGS, PageButton, describe_http_error, message_kwargs
from bot.adapters.discord_roles import TierRoles
from bot.adapters.text_edge import clean_text
from bot.app import KloutApp
from bot.config import ConfigError
from bot.leaderboards.target import PostRef
from bot.services.rescore import RescoreResult
from bot.storage.models import Community
from commands.types import Reply

log = logging.getLogger(__name__)

INTENTS = discord.Intents(guilds=True, guild_messages=True, guild_reactions=True)
# Events nothing in the bot listens to through discord.py: skip its parser entirely.
_RAW_ONLY = frozenset({"MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE"})


class KloutClient(commands.Bot):
    """A commands.Bot for its cog and app-command machinery; prefix commands are unused."""

    def __init__(self, adapter: DiscordAdapter, *, guild_ready_timeout: float,
                 reidentify_pause: bool) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned, intents=INTENTS, help_command=None,
            allowed_mentions=NO_PINGS, chunk_guilds_at_startup=False,
            guild_ready_timeout=guild_ready_timeout, max_messages=None,
            member_cache_flags=discord.MemberCacheFlags.none())
        self.adapter = adapter
        self._reidentify_pause = reidentify_pause

    async def setup_hook(self) -> None:
        await self.adapter.setup()

    async def on_message(self, message: discord.Message, /) -> None:
        """Mentions are answered by the cog's listener; there are no prefix commands."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        if self._reidentify_pause:
            await super().before_identify_hook(shard_id, initial=initial)


class DiscordAdapter:
    name = "discord"

    def __init__(self, app: KloutApp, *, token: str, reidentify_pause: bool = True,
                 freeze_heap: bool = False) -> None:
        self.app = app
        self._token = token
        self._freeze_heap = freeze_heap
        cfg = app.config.discord
        self.client = KloutClient(self, guild_ready_timeout=cfg.guild_ready_timeout_s,
                                  reidentify_pause=reidentify_pause)
        self.backfill = Backfill(self, cfg.backfill_days, cfg.backfill_pause_ms / 1000)
        self.roles = TierRoles(self)
        self._events: GatewayEvents | None = None
        self._commands: KloutCommands | None = None
        self._guild_of: dict[int, int] = {}  # community id -> guild id, for rescore news

    @property
    def events(self) -> GatewayEvents:
        if self._events is None:
            raise RuntimeError("the Discord adapter is not connected yet")
        return self._events

    @property
    def commands(self) -> KloutCommands:
        if self._commands is None:
            raise RuntimeError("the Discord adapter is not connected yet")
        return self._commands

    # -- Adapter protocol -------------------------------------------------------------
    async def run(self) -> None:
        cfg = self.app.config.discord
        apply_endpoints(cfg.api_base, cfg.gateway_url)
        try:
            async with self.client:
                await self.client.start(self._token)
        except discord.LoginFailure as exc:
            raise AdapterFailed(f"Discord rejected the token; check DISCORD_TOKEN ({exc})",
                                credentials=True) from exc
        except discord.PrivilegedIntentsRequired as exc:
            raise AdapterFailed(f"Discord refused the bot's intents: {exc}") from exc
        except discord.ConnectionClosed as exc:  # a close code discord.py cannot resume
            raise AdapterFailed(f"Discord closed the gateway: {exc}",
                                credentials=exc.code == 4004) from exc
        except (aiohttp.ClientError, OSError, discord.GatewayNotFound) as exc:
            # discord.py retries a lost gateway by itself; this is the login, at start.
            raise AdapterFailed(f"cannot reach Discord at {cfg.api_base}: "
                                f"{type(exc).__name__}: {exc}") from exc
        finally:
            await self._stop_work()

    async def send(self, destination: str, reply: Reply) -> str | None:
        """Post to a channel (by id) with pings off; returns the message id."""
        channel = await self._messageable(destination)
        guild = getattr(channel, "guild", None)
        rendered = self.app.renderer.render(reply, PLATFORM)
        try:
            message = await channel.send(**message_kwargs(reply, rendered,
                                                          guild.id if guild else None))
        except discord.HTTPException as exc:
            cause = describe_http_error(exc)
            log.error("could not post to Discord channel %s: %s", destination, cause)
            retryable = exc.status == 429 or exc.status >= 500
            raise DeliveryError(cause, retryable=retryable) from exc
        # The weekly post's image is edited in once the text is posted (and so counted
        # as delivered): an image that fails never makes the poster post again.
        images = self._commands.images if self._commands is not None else None
        if images is not None and images.wanted(guild.id if guild else None, reply):
            await images.attach_to_message(message, reply, rendered)
        return str(message.id)

    async def recent_own_posts(self, destination: str, since: datetime) -> list[PostRef]:
        """The bot's own messages in a channel since `since`, for the weekly poster's
        crash recovery. Raises DeliveryError when it cannot tell ([] means none)."""
        me = self.client.user
        if me is None:
            raise DeliveryError("not logged in to Discord yet", retryable=True)
        channel = await self._messageable(destination)
        refs: list[PostRef] = []
        try:
            # Newest first, with a day of slack: the poster matches its marker in the text,
            # and Discord's clock (snowflake times) may disagree with ours.
            horizon = since - timedelta(days=1)
            async for message in channel.history(limit=200):
                if message.created_at < horizon:
                    break
                if message.author.id != me.id:
                    continue
                parts = [message.content]
                for embed in message.embeds:
                    parts += [embed.title or "", embed.description or "",
                              embed.footer.text or ""]
                refs.append(PostRef(str(message.id), "\n".join(p for p in parts if p)))
        except discord.HTTPException as exc:
            cause = describe_http_error(exc)
            log.error("cannot read Discord channel %s history: %s", destination, cause)
            raise DeliveryError(cause, retryable=exc.status == 429 or exc.status >= 500) \
                from exc
        return refs

    async def community_for(self, destination: str) -> str | None:
        """The guild a channel belongs to, for [[leaderboard]] entries naming only a channel."""
        channel = await self._messageable(destination)
        guild = getattr(channel, "guild", None)
        return str(guild.id) if guild is not None else None

    async def _messageable(self, destination: str) -> discord.abc.Messageable:
        try:
            channel = self.client.get_channel(int(destination)) or \
                await self.client.fetch_channel(int(destination))
        except ValueError as exc:
            raise DeliveryError(f"{destination!r} is not a Discord channel id",
                                retryable=False) from exc
        except discord.HTTPException as exc:
            cause = describe_http_error(exc)
            log.error("cannot find Discord channel %s: %s", destination, cause)
            raise DeliveryError(cause, retryable=exc.status == 429 or exc.status >= 500) \
                from exc
        if not isinstance(channel, discord.abc.Messageable):
            raise DeliveryError(f"Discord channel {destination} takes no messages",
                                retryable=False)
        return channel

    async def close(self) -> None:
        await self._stop_work()
        await self.client.close()

    # -- start-up -----------------------------------------------------------------------
    async def setup(self) -> None:
        """Runs once, after login and before the gateway connects (discord.py's setup_hook)."""
        user = self.client.user
        if user is None:  # pragma: no cover - setup_hook runs after a successful login
            raise RuntimeError("setup before login")
        self._events = GatewayEvents(self.app, str(user.id), self._parent_of)
        await self._events.prepare()
        self._install_parsers()
        self._commands = KloutCommands(self)
        await self.client.add_cog(self._commands)
        self.client.add_dynamic_items(PageButton)
        self.client.add_listener(self._ready, "on_ready")
        self.client.add_listener(self._guild_available, "on_guild_available")
        self.client.add_listener(self._guild_join, "on_guild_join")
        if self._after_rescore not in self.app.rescorer.listeners:
            self.app.rescorer.listeners.append(self._after_rescore)

    def _install_parsers(self) -> None:
        # discord.py's ConnectionState maps each gateway event to a parser in `parsers`;
        # the gateway looks them up per event, so wrapping the entries is enough.
        parsers: dict[str, Callable[[Any], None]] = self.client._connection.parsers
        missing = [e for e in INGESTED_EVENTS if e not in parsers]
        if missing:
            raise RuntimeError(f"this discord.py has no parser for {missing}; unsupported version")
        for event in INGESTED_EVENTS:
            parsers[event] = self._wrap(event, parsers[event])
        discord_turns.install()
        state = self.client._connection
        parse_interaction = parsers["INTERACTION_CREATE"]

        def interaction_create(data: Any) -> None:
            parse_interaction(data)
            discord_turns.interaction_parsed(state)
        parsers["INTERACTION_CREATE"] = interaction_create

    def _wrap(self, event: str, original: Callable[[Any], None]) -> Callable[[Any], None]:
        handle = self.events.handle
        if event in _RAW_ONLY:
            return lambda data: handle(event, data)
        if event == "MESSAGE_CREATE":
            concerns_bot = self._concerns_bot

            def message_create(data: Any) -> None:
                handle(event, data)
                if concerns_bot(data):
                    original(data)
            return message_create

        def passthrough(data: Any) -> None:
            handle(event, data)
            original(data)
        return passthrough

    def _concerns_bot(self, data: Mapping[str, Any]) -> bool:
        """Might ask the bot something: a DM, or a message by someone else mentioning it."""
        me = self.events.translator.bot_user_id
        if str(data.get("author", {}).get("id")) == me:
            return False
        if data.get("guild_id") is None:
            return True
        return any(str(m.get("id")) == me for m in data.get("mentions") or ())

    async def _ready(self) -> None:
        if self._freeze_heap:
            self._freeze_heap = False
            # What start-up built (modules, discord.py's guild state, config) lives as long
            # as the process. Frozen, the collector stops walking it on every older-
            # generation pass: in bench_discord that was a quarter of a /klout's event-loop
            # time, and full passes stalled the loop for up to ~100 ms.
            gc.collect()
            gc.freeze()
            log.info("start-up heap frozen: %s objects", gc.get_freeze_count())

    def _parent_of(self, channel_id: str) -> str | None:
        channel = self.client.get_channel(int(channel_id))
        parent = getattr(channel, "parent_id", None)
        return None if parent is None else str(parent)

    async def community_of(self, guild: discord.Guild) -> Community:
        """The guild's community, created on first sight. Communities carry the server's
        name (cleaned at this edge), and the ingestion path finds them by id."""
        community = await self.app.store.communities.ensure(PLATFORM, str(guild.id),
                                                            clean_text(guild.name))
        self._guild_of[community.id] = guild.id
        return community

    async def _guild_available(self, guild: discord.Guild) -> None:
        await self.community_of(guild)
        await self.backfill.start_if_due(guild)

    async def _guild_join(self, guild: discord.Guild) -> None:
        community = await self.community_of(guild)
        log.info("joined guild %s (%s)", guild.id, community.name)
        self.backfill.start(guild)

    async def _after_rescore(self, result: RescoreResult) -> None:
        """Whoever rescored (the scheduler, a command), tier roles follow, in the background."""
        guild_id = self._guild_of.get(result.community_id)
        if guild_id is not None:
            self.roles.schedule(guild_id)

    async def _stop_work(self) -> None:
        if self._after_rescore in self.app.rescorer.listeners:
            self.app.rescorer.listeners.remove(self._after_rescore)
        await self.roles.close()
        await self.backfill.close()
        if self._events is not None:
            await self._events.close()
        await self.app.writer.flush()


def create(app: KloutApp) -> DiscordAdapter:
    """The runner's factory. The token comes from DISCORD_TOKEN and is never logged."""
    token = os.environ.get("DISCORD_TOKEN", "")
    if not token:
        raise ConfigError(app.config.source, "", "DISCORD_TOKEN is not set")
    try:
        apply_endpoints(app.config.discord.api_base, app.config.discord.gateway_url)
    except ValueError as exc:
        key = "discord.api_base" if "api_base" in str(exc) else "discord.gateway_url"
        raise ConfigError(app.config.source, key, str(exc)) from None
    return DiscordAdapter(app, token=token, freeze_heap=True)
