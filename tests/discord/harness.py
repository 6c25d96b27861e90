"""A running Discord adapter against FakeDiscord, over a real SQLite file.

    async with discord_bot(fake, tmp_path) as bot:
        await bot.slash(guild, "alice", "klout")

The fake is reached through the [discord] api_base / gateway_url config keys, as a
proxy would be. The clock is fixed an hour ahead of the wall clock: the fake stamps
messages with real snowflakes, and a rescore only counts events up to its `now`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.adapters.discord import DiscordAdapter
from bot.adapters.discord_endpoints import apply_endpoints, current_endpoints
from bot.app import KloutApp
from bot.clock import FixedClock
from bot.config import CardsSection, Config, DiscordSection
from commands.ports import ScoreCard
from commands.types import Person
from tests.fakes.discord_fake import FakeDiscord, FakeGuild, FakeInteraction

TIMEOUT = 5.0
JSON = dict[str, Any]


def bot_config(fake: FakeDiscord, db: Path, *, cards: bool = False,
               **discord_keys: Any) -> Config:
    """Images stay off unless asked for (`cards=True`): most tests read the text answer
    and need no render process."""
    base = Config()
    keys = {"guild_ready_timeout_s": 0.05, "backfill_pause_ms": 0, **discord_keys}
    section = DiscordSection(api_base=fake.api_base, gateway_url=fake.gateway_url, **keys)
    storage = dataclasses.replace(base.storage, path=str(db))
    images = CardsSection(enabled_by_default=cards, cdn_base=fake.http_base,
                          avatar_timeout_ms=1000)
    return base.with_overrides(discord=section, storage=storage, cards=images)


class DiscordBot:
    def __init__(self, fake: FakeDiscord, app: KloutApp, adapter: DiscordAdapter,
                 clock: FixedClock) -> None:
        self.fake, self.app, self.adapter, self.clock = fake, app, adapter, clock

    @property
    def bot_id(self) -> int:
        return int(self.fake.bot_user["id"])

    async def slash(self, guild: FakeGuild, who: str | JSON, name: str,
                    options: Mapping[str, Any] | None = None, *,
                    subcommand: str | tuple[str, ...] = ()) -> FakeInteraction:
        """Invoke a slash command and wait for the bot's callback."""
        self.tick()
        member = guild.member(who) if isinstance(who, str) else who
        start = len(self.fake.requests)
        ix = await self.fake.invoke_slash(guild.id, guild.channel_id, member, name, options,
                                          subcommand=subcommand)
        await self.fake.wait_for_request("POST", rf"/interactions/{ix.id}/[^/]+/callback",
                                         start=start, where=lambda r: 200 <= r.status < 300)
        return ix

    def tick(self) -> None:
        """Let time pass beyond the command cooldowns (per user and per channel)."""
        self.clock.advance(timedelta(seconds=31))

    async def say(self, guild: FakeGuild, who: str, content: str = "", *,
                  channel: int | None = None, reference: JSON | None = None,
                  mentions: list[JSON] | None = None) -> JSON:
        """A member posts; returns once the bot has ingested it."""
        before = self.adapter.events.handled["MESSAGE_CREATE"]
        message = await self.fake.send_message(
            guild.id, channel or guild.channel_id, guild.member(who), content,
            reference=reference, mentions=mentions)
        await self.adapter.events.wait_handled("MESSAGE_CREATE", before + 1)
        return message

    async def react(self, guild: FakeGuild, who: str, message: JSON,
                    emoji: str = "\N{THUMBS UP SIGN}") -> None:
        before = self.adapter.events.handled["MESSAGE_REACTION_ADD"]
        await self.fake.add_reaction(int(message["channel_id"]), int(message["id"]),
                                     guild.member(who), emoji)
        await self.adapter.events.wait_handled("MESSAGE_REACTION_ADD", before + 1)

    async def rescore(self, guild: FakeGuild) -> None:
        await self.app.rescore_community("discord", str(guild.id))

    async def card(self, guild: FakeGuild, who: str) -> ScoreCard:
        user = guild.member(who)["user"]
        return await self.app.influence.card(
            "discord", str(guild.id), Person("discord", user["id"], user["username"]),
            self.clock.now())

    async def events_of(self, guild: FakeGuild, source: str | int | None = None
                        ) -> list[tuple[int, str, str]]:
        """(kind, actor user id, target user id or '') of the guild's stored events."""
        await self.app.writer.flush()
        await self.adapter.events.drain()
        await self.app.writer.flush()
        community = await self.app.store.communities.ensure("discord", str(guild.id))
        rows = await self.app.store.db.fetchall(
            "SELECT e.kind, a.external_id, coalesce(t.external_id, '') FROM events e "
            "JOIN accounts a ON a.id = e.actor_id LEFT JOIN accounts t ON t.id = e.target_id "
            "WHERE e.community_id = ? AND (? IS NULL OR e.source = ?) ORDER BY e.id",
            (community.id, None if source is None else str(source),
             None if source is None else str(source)))
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]


@asynccontextmanager
async def discord_bot(fake: FakeDiscord, db: Path, *, config: Config | None = None,
                      **discord_keys: Any) -> AsyncIterator[DiscordBot]:
    previous = current_endpoints()
    clock = FixedClock(datetime.now(UTC) + timedelta(hours=1))
    config = config or bot_config(fake, db, **discord_keys)
    try:
        async with KloutApp(config, clock=clock, db_path=db) as app:
            adapter = DiscordAdapter(app, token=fake.token, reidentify_pause=False)
            runner = asyncio.create_task(adapter.run())
            try:
                ready = asyncio.ensure_future(adapter.client.wait_until_ready())
                done, _ = await asyncio.wait({runner, ready}, timeout=TIMEOUT,
                                             return_when=asyncio.FIRST_COMPLETED)
                ready.cancel()
                if runner in done:
                    runner.result()
                if ready not in done:
                    raise TimeoutError("the Discord adapter never became ready")
                yield DiscordBot(fake, app, adapter, clock)
            finally:
                await adapter.close()
                await asyncio.wait_for(runner, TIMEOUT)
    finally:
        apply_endpoints(*previous)
