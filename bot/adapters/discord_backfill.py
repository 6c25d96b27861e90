"""Read recent channel history so scores mean something on the first day.

Per channel, storage keeps the span of message ids already read (oldest..newest). A run
first reads forward from `newest` (what was posted while the bot was away), then
backward from `oldest` until the window's start ([discord] backfill_days), saving the
span after every page: a restart resumes where it stopped, and a finished channel costs
one request. Inserts are idempotent (events_dedupe), so overlap with live events or a
page read twice never counts anything twice.

A guild is backfilled the first time the bot sees it, whether it joins while running
or finds the guild at connect (invited while offline); storage remembers that, so a
restart only finishes a run cut short. The community is rescored as soon as a run ends.

Pages are fetched one at a time with a pause between them ([discord] backfill_pause_ms);
discord.py waits out 429s on its own. Progress goes to the log, and to the admin who
asked (an ephemeral message, edited as channels finish).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import discord

from bot.adapters.discord_ingest import PLATFORM, time_snowflake
from bot.adapters.discord_reply import NO_PINGS, describe_http_error, embed_for
from bot.storage.backfill import ChannelProgress

if TYPE_CHECKING:
    from bot.adapters.discord import DiscordAdapter

log = logging.getLogger(__name__)
PAGE = 100  # Discord's maximum per history request


@dataclass
class BackfillStatus:
    guild_id: int
    channels: int
    channels_done: int = 0
    messages: int = 0
    activities: int = 0
    skipped: list[str] = field(default_factory=list)  # channels the bot may not read
    finished: bool = False
    failed: str = ""


Report = Callable[[BackfillStatus], Awaitable[None]]


class Backfill:
    def __init__(self, adapter: DiscordAdapter, days: int, pause_s: float) -> None:
        self.adapter = adapter
        self.app = adapter.app
        self.days = days
        self.pause_s = pause_s
        self._running: dict[int, asyncio.Task[BackfillStatus]] = {}
        self._started = asyncio.Event()

    def running(self, guild_id: int) -> asyncio.Task[BackfillStatus] | None:
        task = self._running.get(guild_id)
        return task if task is not None and not task.done() else None

    def start(self, guild: discord.Guild, report: Report | None = None
              ) -> asyncio.Task[BackfillStatus] | None:
        """Backfill `guild` in the background (one run per guild at a time); None when off."""
        if self.days <= 0:
            return None
        current = self.running(guild.id)
        if current is not None:
            return current
        task = asyncio.get_running_loop().create_task(self._run(guild, report),
                                                      name=f"backfill-{guild.id}")
        self._running[guild.id] = task
        self._started.set()
        self._started = asyncio.Event()
        return task

    async def wait_started(self, guild_id: int, timeout: float = 5.0  # noqa: ASYNC109
                           ) -> asyncio.Task[BackfillStatus]:
        """The guild's latest backfill (running or done), once one has started."""
        async with asyncio.timeout(timeout):
            while (task := self._running.get(guild_id)) is None:
                started = self._started
                await started.wait()
        return task

    async def start_if_due(self, guild: discord.Guild) -> None:
        """Whenever the bot sees a guild (it joined, or it was already there at start):
        the first backfill of a guild never backfilled, or the rest of one cut short.
        Inviting the bot and then starting it is the usual first run, and that guild
        arrives at connect, never as a join."""
        if self.days <= 0:
            return
        community = await self.adapter.community_of(guild)
        store = self.app.store.backfill
        if not await store.ever_started(community.id):
            log.info("guild %s (%s) was never backfilled; starting", guild.id, guild.name)
            self.start(guild)
            return
        progress = await store.progress(community.id)
        if any(not p.complete for p in progress.values()):
            log.info("resuming the unfinished backfill of guild %s", guild.id)
            self.start(guild)

    async def start_from_interaction(self, interaction: discord.Interaction[Any]) -> None:
        guild = interaction.guild
        if guild is None:
            return
        already = self.running(guild.id) is not None
        status = BackfillStatus(guild.id, 0)
        await self._show(interaction, status, first=True, already=already)
        if already or self.days <= 0:
            return

        async def report(current: BackfillStatus) -> None:
            await self._show(interaction, current, first=False, already=False)

        self.start(guild, report)

    async def close(self) -> None:
        for task in self._running.values():
            task.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)
        self._running.clear()

    # -- the work -------------------------------------------------------------------
    async def _run(self, guild: discord.Guild, report: Report | None) -> BackfillStatus:
        channels = self._readable_channels(guild)
        status = BackfillStatus(guild.id, len(channels[0]), skipped=channels[1])
        log.info("backfill of guild %s (%s): %s channels, %s days", guild.id, guild.name,
                 status.channels, self.days)
        try:
            community = await self.adapter.community_of(guild)
            done = await self.app.store.backfill.progress(community.id)
            for channel in channels[0]:
                try:
                    await self._channel(community.id, guild.id, channel.id,
                                        done.get(str(channel.id)), status)
                except discord.Forbidden as exc:
                    # Permissions changed mid-run; what was read is saved, the rest waits.
                    log.warning("backfill cannot read channel %s: %s", channel.id,
                                describe_http_error(exc))
                    status.skipped.append(str(channel.id))
                status.channels_done += 1
                log.info("backfill of guild %s: channel %s done (%s/%s), %s messages so far",
                         guild.id, channel.id, status.channels_done, status.channels,
                         status.messages)
                if report is not None:
                    await report(status)
            await self.app.writer.flush()
            await self.adapter.events.drain()
            await self.app.store.backfill.mark_done(community.id,
                                                   int(self.app.clock.now().timestamp()))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            status.failed = str(exc)[:200] or type(exc).__name__
            log.exception("backfill of guild %s stopped; the next run resumes", guild.id)
        await self._rescore(guild)
        status.finished = True
        log.info("backfill of guild %s finished: %s messages, %s activities%s", guild.id,
                 status.messages, status.activities,
                 f"; could not read {len(status.skipped)} channels" if status.skipped else "")
        if report is not None:
            await report(status)
        return status

    async def _rescore(self, guild: discord.Guild) -> None:
        """The history just read counts now, not at the next scheduled rescore."""
        try:
            await self.app.rescore_community(PLATFORM, str(guild.id))
        except Exception:
            log.exception("rescore after the backfill of guild %s failed; the scheduled "
                          "one will catch up", guild.id)

    def _readable_channels(self, guild: discord.Guild
                           ) -> tuple[list[discord.TextChannel], list[str]]:
        me = guild.me
        settings = self.adapter.events.settings_for(str(guild.id))
        readable, skipped = [], []
        for channel in guild.text_channels:
            if not self.adapter.events.translator.channel_counts(settings, str(channel.id)):
                continue
            perms = channel.permissions_for(me)
            if perms.view_channel and perms.read_message_history:
                readable.append(channel)
            else:
                skipped.append(str(channel.id))
        return readable, skipped

    async def _channel(self, community_id: int, guild_id: int, channel_id: int,
                       progress: ChannelProgress | None, status: BackfillStatus) -> None:
        http = self.adapter.client.http
        now = self.app.clock.now()
        window_start = time_snowflake(now - timedelta(days=self.days))
        store = self.app.store.backfill

        async def page(**where: int) -> list[Mapping[str, Any]]:
            if self.pause_s:
                await asyncio.sleep(self.pause_s)
            # Raw payloads: the same shape the gateway ingestion reads.
            return list(await http.logs_from(channel_id, PAGE, **where))

        def take(messages: list[Mapping[str, Any]]) -> None:
            fresh = [m for m in messages if int(m["id"]) >= window_start]
            status.messages += len(fresh)
            status.activities += self.adapter.events.ingest_history(str(guild_id), fresh)

        stamp = int(now.timestamp())
        if progress is None:
            # Nothing older than this moment can appear later: an empty channel is done.
            progress = ChannelProgress(str(channel_id), time_snowflake(now),
                                       time_snowflake(now), False, 0)
            first = await page()
            if first:
                ids = [int(m["id"]) for m in first]
                progress = replace(progress, oldest_id=min(ids), newest_id=max(ids))
                take(first)
            if len(first) < PAGE or progress.oldest_id < window_start:
                progress = replace(progress, complete=True)
            progress = replace(progress, messages=progress.messages + len(first))
            await store.save(community_id, progress, stamp)
        else:
            # What arrived while the bot was away (or not yet listening).
            while True:
                newer = await page(after=progress.newest_id)
                if not newer:
                    break
                take(newer)
                progress = replace(progress, newest_id=max(int(m["id"]) for m in newer),
                                   messages=progress.messages + len(newer))
                await store.save(community_id, progress, stamp)
                if len(newer) < PAGE:
                    break
        while not progress.complete:
            older = await page(before=progress.oldest_id)
            if older:
                take(older)
            oldest = min((int(m["id"]) for m in older), default=progress.oldest_id)
            progress = replace(progress, oldest_id=oldest,
                               complete=len(older) < PAGE or oldest < window_start,
                               messages=progress.messages + len(older))
            await store.save(community_id, progress, stamp)

    # -- progress for the admin ---------------------------------------------------------
    async def _show(self, interaction: discord.Interaction[Any], status: BackfillStatus, *,
                    first: bool, already: bool) -> None:
        rendered = self.app.renderer.render_name("backfill", PLATFORM, {
            "status": status, "days": self.days, "already": already})
        embed = embed_for(rendered)
        try:
            if first:
                await interaction.response.send_message(embed=embed, ephemeral=True,
                                                        allowed_mentions=NO_PINGS)
            else:
                await interaction.edit_original_response(embed=embed, allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            # The interaction token lasts 15 minutes; the log keeps the rest.
            log.info("backfill progress message not updated: %s", describe_http_error(exc))
