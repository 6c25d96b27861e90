"""Resumes, rate limits and failed replies."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.adapters.base import DeliveryError
from commands.types import Reply
from tests.discord.harness import discord_bot
from tests.fakes.discord_fake import FakeDiscord, FakeGuild


async def test_resume_after_disconnect_processes_the_missed_event_once(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "g.db") as bot:
        before = await bot.say(guild, "alice", "before")
        assert await fake.disconnect(code=4000) == 1
        missed = await fake.send_message(guild.id, guild.channel_id, guild.member("bob"),
                                         "during the outage", reference=before)
        await fake.wait_for_resume()
        await bot.adapter.events.wait_handled("MESSAGE_CREATE", 2)
        assert fake.resumes[0]["replayed"] == 1 and len(fake.identifies) == 1
        # A replay of the same payload (a second resume, a backfill overlap) adds nothing.
        bot.adapter.events.handle("MESSAGE_CREATE", {**missed, "guild_id": str(guild.id)})
        events = await bot.events_of(guild, missed["id"])
        assert len(events) == 2  # bob's message and his reply, once each
        ix = await bot.slash(guild, "bob", "klout")
        assert ix.callbacks[0]["type"] == 4


async def test_rate_limited_answers_are_retried(fake: FakeDiscord, guild: FakeGuild,
                                                tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "r.db") as bot:
        fake.fail_next("POST /interactions/{id}/{token}/callback", 429, retry_after=0.05)
        ix = await bot.slash(guild, "alice", "klout")
        statuses = [r.status for r in fake.requests_for("POST", rf"/interactions/{ix.id}/.*")]
        assert statuses[0] == 429 and 200 <= statuses[-1] < 300
        assert ix.callbacks[0]["data"]["embeds"]

        fake.fail_next("POST /channels/{channel_id}/messages", 429, retry_after=0.05)
        posted = await bot.adapter.send(str(guild.channel_id),
                                        Reply("leaderboard_empty", {"bot_name": "KloutBot"}))
        assert posted is not None and int(posted) in fake.messages[guild.channel_id]


async def test_refused_replies_are_logged_with_their_cause(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    async with discord_bot(fake, tmp_path / "f.db") as bot:
        with caplog.at_level(logging.WARNING):
            fake.fail_next("POST /channels/{channel_id}/messages", 403)
            with pytest.raises(DeliveryError) as refused:
                await bot.adapter.send(str(guild.channel_id),
                                       Reply("leaderboard_empty", {"bot_name": "KloutBot"}))
            assert not refused.value.retryable
            assert "50013" in caplog.text and "lacks a permission" in caplog.text

            expired = _LogSignal("interaction expired")
            logging.getLogger("bot.adapters").addHandler(expired)
            try:
                fake.fail_next("POST /interactions/{id}/{token}/callback", 404)
                await fake.invoke_slash(guild.id, guild.channel_id, guild.member("alice"),
                                        "klout")
                await expired.wait()
            finally:
                logging.getLogger("bot.adapters").removeHandler(expired)

            # A mention answer refused for missing Embed Links falls back to plain text.
            bot.tick()
            fake.fail_next("POST /channels/{channel_id}/messages", 403)
            start = len(fake.requests)
            await fake.send_message(guild.id, guild.channel_id, guild.member("bob"),
                                    f"<@{bot.bot_id}>")
            plain = await fake.wait_for_request(
                "POST", rf"/channels/{guild.channel_id}/messages", start=start,
                where=lambda r: r.status == 200)
            assert "score" in plain.json["content"] and "embeds" not in plain.json
            assert plain.json["allowed_mentions"]["parse"] == []
        with pytest.raises(DeliveryError):
            await bot.adapter.send("not-a-channel", Reply("leaderboard_empty",
                                                          {"bot_name": "KloutBot"}))


class _LogSignal(logging.Handler):
    """Sets an event when a log line containing `text` is emitted."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.seen.set()

    async def wait(self) -> None:
        await asyncio.wait_for(self.seen.wait(), 5.0)
