"""A Discord member's account creation time comes from their id, at the edge, for free."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import discord.utils

from tests.discord.harness import discord_bot
from tests.fakes.discord_fake import FakeDiscord, FakeGuild

DISCORD_EPOCH_MS = 1_420_070_400_000
JOINED_DISCORD = datetime(2017, 3, 9, 14, 0, tzinfo=UTC)


async def test_stored_creation_times_match_the_snowflakes_and_count_at_once(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    """A member whose account dates from 2017 is new to this server, as everyone is
    (the bot saw nothing before today). Her reaction counts in full at once; a brand-new
    account's identical reaction carries the trust floor."""
    old_id = (int(JOINED_DISCORD.timestamp() * 1000) - DISCORD_EPOCH_MS) << 22
    fake.make_member(guild.id, fake.make_user("vera", user_id=old_id))
    async with discord_bot(fake, tmp_path / "c.db") as bot:
        post = await bot.say(guild, "vera", "hello all")
        await bot.say(guild, "alice", "welcome!", reference=post)
        await bot.say(guild, "bob", "hi vera", reference=post)
        alice_post = await bot.say(guild, "alice", "my first post")
        bob_post = await bot.say(guild, "bob", "mine too")
        await bot.react(guild, "vera", alice_post)  # vera is stored already
        await bot.react(guild, "cy", bob_post)  # cy is first seen here
        await bot.events_of(guild)

        rows = await bot.app.store.db.fetchall(
            "SELECT external_id, created_at FROM accounts WHERE platform = 'discord'")
        stored = {str(r[0]): r[1] for r in rows}
        assert set(stored) >= {str(old_id), *(str(guild.member(n)["user"]["id"])
                                              for n in ("alice", "bob", "cy"))}
        for external_id, created_at in stored.items():
            # discord.py's own decoding is the independent reference.
            want = discord.utils.snowflake_time(int(external_id)).timestamp()
            assert created_at == int(want), external_id
        assert stored[str(old_id)] == int(JOINED_DISCORD.timestamp())

        await bot.rescore(guild)
        alice, bob = await bot.card(guild, "alice"), await bot.card(guild, "bob")
        assert alice.score > bob.score
