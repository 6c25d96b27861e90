"""The weekly leaderboard reaches the local Discord exactly once per period, crash or not."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import LeaderboardEntry
from tests.discord.harness import DiscordBot, discord_bot
from tests.discord.test_leaderboard import five_scored
from tests.fakes.discord_fake import FakeDiscord, FakeGuild

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Crash(Exception):
    pass


def bot_posts(fake: FakeDiscord, bot: DiscordBot,
              guild: FakeGuild) -> list[dict]:  # type: ignore[type-arg]
    return [m for m in fake.messages[guild.channel_id].values()
            if int(m["author"]["id"]) == bot.bot_id]


async def schedule_due_now(bot: DiscordBot, guild: FakeGuild) -> None:
    bot.app.adapters["discord"] = bot.adapter
    now = bot.clock.now()
    due = now - timedelta(minutes=5)
    entry = LeaderboardEntry(platform="discord", channel=str(guild.channel_id),
                             community=str(guild.id), weekday=WEEKDAYS[due.weekday()],
                             time=due.strftime("%H:%M"), timezone="UTC", top=5)
    await bot.app.leaderboards.sync_config([entry], now - timedelta(days=1))


async def test_weekly_post_lands_once(fake: FakeDiscord, guild: FakeGuild,
                                      tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "w.db") as bot:
        await five_scored(bot, guild)
        await schedule_due_now(bot, guild)
        await bot.app.leaderboards.tick(bot.clock.now())
        await bot.app.leaderboards.tick(bot.clock.now() + timedelta(minutes=1))
        posts = bot_posts(fake, bot, guild)
        assert len(posts) == 1
        request = fake.requests_for("POST", rf"/channels/{guild.channel_id}/messages")[-1]
        assert request.json["allowed_mentions"] == {"parse": []}


@pytest.mark.parametrize("step", ["sent:1", "mark"])
async def test_crash_after_sending_never_double_posts(fake: FakeDiscord, guild: FakeGuild,
                                                      tmp_path: Path, step: str) -> None:
    db = tmp_path / "c.db"
    async with discord_bot(fake, db) as bot:
        await five_scored(bot, guild)
        await schedule_due_now(bot, guild)

        async def crash(at: str) -> None:
            if at == step:
                raise Crash(at)

        bot.app.leaderboards.hook = crash
        await bot.app.leaderboards.tick(bot.clock.now())  # logged, the claim stays open
        assert len(bot_posts(fake, bot, guild)) == 1
    # A fresh process on the same database resolves the open claim from the channel.
    async with discord_bot(fake, db) as bot:
        bot.app.adapters["discord"] = bot.adapter
        await bot.app.leaderboards.tick(bot.clock.now())
        assert len(bot_posts(fake, bot, guild)) == 1
        (dest,) = await bot.app.store.leaderboards.destinations()
        assert await bot.app.store.leaderboards.unfinished(dest.id) == []


async def test_admin_previews_and_posts_now(fake: FakeDiscord, guild: FakeGuild,
                                            tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "a.db") as bot:
        await five_scored(bot, guild)
        await schedule_due_now(bot, guild)
        refused = await bot.slash(guild, "bob", "kloutadmin", subcommand=("leaderboard",
                                                                           "preview"))
        assert "Manage Server" in str(refused.callbacks[0]["data"])
        ix = await bot.slash(guild, fake.owner, "kloutadmin",
                             subcommand=("leaderboard", "preview"))
        (embed,) = ix.callbacks[0]["data"]["embeds"]
        assert embed["title"] == "Preview of the next weekly leaderboard"
        assert f"<#{guild.channel_id}>" in embed["description"]
        assert bot_posts(fake, bot, guild) == []
        await bot.slash(guild, fake.owner, "kloutadmin",
                        subcommand=("leaderboard", "post-now"))
        assert len(bot_posts(fake, bot, guild)) == 1
