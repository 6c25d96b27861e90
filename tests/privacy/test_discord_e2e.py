"""Consent through the real Discord adapter against FakeDiscord: the live gateway and
history backfill both pass the ingestion gate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from commands.types import Person, Request
from tests.discord.harness import DiscordBot, discord_bot
from tests.discord.test_backfill import history, run_backfill
from tests.fakes.discord_fake import FakeDiscord, FakeGuild
from tests.privacy.helpers import confirm_code, rows


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
def guild(fake: FakeDiscord) -> FakeGuild:
    return fake.add_guild("Klout HQ", channels=("general",), members=["alice", "bob", "cy"])


def user_id(guild: FakeGuild, name: str) -> str:
    return str(guild.member(name)["user"]["id"])


async def as_member(bot: DiscordBot, guild: FakeGuild, name: str, command: str,
                    *args: str, admin: bool = False) -> str:
    """What the adapter builds for a slash command, handled by the app."""
    bot.tick()
    author = Person("discord", user_id(guild, name), name, handle=name)
    _, rendered = await bot.app.handle(Request(
        "discord", str(guild.id), author, command, args, now=bot.clock.now(),
        channel=str(guild.channel_id), is_admin=admin))
    return rendered.text


async def test_forgotten_member_is_not_reimported_by_backfill(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    await history(fake, guild, 20)  # alice posts, bob replies
    alice = user_id(guild, "alice")
    async with discord_bot(fake, tmp_path / "d.db") as bot:
        await run_backfill(bot, guild)
        assert any(actor == alice for _, actor, _ in await bot.events_of(guild))
        code = confirm_code(await as_member(bot, guild, "alice", "privacy", "forget"))
        done = await as_member(bot, guild, "alice", "privacy", "forget", "confirm", code)
        assert "Deleted:" in done
        # Live messages from and about alice are dropped ...
        post = await bot.say(guild, "alice", "still here")
        await bot.say(guild, "bob", "hi alice", reference=post)
        await bot.say(guild, "cy", "hello")
        # ... and so is the whole history when an admin wipe makes backfill read it again.
        wipe = await as_member(bot, guild, "alice", "privacy-wipe-community", admin=True)
        await as_member(bot, guild, "alice", "privacy-wipe-community", "confirm",
                        confirm_code(wipe), admin=True)
        await run_backfill(bot, guild)
        events = await bot.events_of(guild)
        assert events, "backfill read nothing: the test would prove nothing"
        assert all(alice not in (actor, target) for _, actor, target in events)
        await bot.rescore(guild)
    assert rows(tmp_path / "d.db", "SELECT count(*) FROM accounts WHERE external_id = ?",
                (alice,)) == [(0,)]


async def test_opted_out_member_gets_nothing_new_stored(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    bob = user_id(guild, "bob")
    async with discord_bot(fake, tmp_path / "o.db") as bot:
        post = await bot.say(guild, "alice", "hello")
        before = await bot.events_of(guild)
        assert "you're opted out" in await as_member(bot, guild, "alice", "privacy", "optout")
        await bot.say(guild, "bob", "reply", reference=post)
        await bot.react(guild, "cy", post)
        await bot.say(guild, "alice", "more")
        after = await bot.events_of(guild)
        assert after[len(before):] == [(0, bob, "")]  # bob's own message only
