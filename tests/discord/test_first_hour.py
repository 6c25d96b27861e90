"""A real server's first hour, end to end with the real discord.py against FakeDiscord:
the bot is invited while offline (history already in the channels), started, sees new
activity, and is asked moments later. Scores include the history and the new activity
without anyone running a rescore. The freshness delay is a config value set small
([bot] fresh_scores_after_s); the test waits on the bot's own rescore count, bounded.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from typing import Any

from bot.config import Config
from tests.discord.harness import DiscordBot, bot_config, discord_bot
from tests.discord.test_backfill import history
from tests.fakes.discord_fake import FakeDiscord, FakeGuild

FRESH_AFTER_S = 0.05


def fresh_config(fake: FakeDiscord, db: Path) -> Config:
    base = bot_config(fake, db)
    return base.with_overrides(bot=dataclasses.replace(base.bot,
                                                       fresh_scores_after_s=FRESH_AFTER_S))


async def scored_up_to_now(bot: DiscordBot, guild: FakeGuild,
                           timeout: float = 5.0) -> float:  # noqa: ASYNC109
    """Wall seconds until the stored scores cover every event stored so far, rescored by
    the bot on its own. (The writer is flushed here, as it flushes itself every 200 ms.)"""
    started = time.monotonic()
    await bot.app.writer.flush()
    community = await bot.app.store.communities.ensure("discord", str(guild.id))
    newest = await bot.app.store.events.max_id(community.id)
    async with asyncio.timeout(timeout):
        while True:
            state = await bot.app.store.scores.rescore_state(community.id)
            if state is not None and state[1] >= newest:
                return time.monotonic() - started
            await asyncio.sleep(0.01)


def description(ix: Any) -> str:
    embed = ix.callbacks[0]["data"]["embeds"][0]
    return f"{embed['title']}\n{embed['description']}"


async def test_history_and_new_activity_are_scored_within_seconds(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    await history(fake, guild, 20)  # alice posts, bob replies: before the bot ever ran
    db = tmp_path / "first.db"
    async with discord_bot(fake, db, config=fresh_config(fake, db)) as bot:
        backfill = await (await bot.adapter.backfill.wait_started(guild.id))
        assert backfill.messages == 20 and not backfill.failed

        # New activity: cy posts and three people answer; ed mentions cy.
        done = bot.app.freshness.rescores
        post = await bot.say(guild, "cy", "first post here")
        for fan in ("alice", "bob", "di"):
            await bot.say(guild, fan, "welcome", reference=post)
            await bot.react(guild, fan, post)
        cy_id = guild.member("cy")["user"]["id"]
        await bot.say(guild, "ed", f"hi <@{cy_id}>", mentions=[guild.member("cy")["user"]])
        assert await scored_up_to_now(bot, guild) < 3.0
        assert bot.app.freshness.rescores > done  # nobody asked for them

        ix = await bot.slash(guild, "cy", "klout")
        assert description(ix).startswith("Cy: ")  # new activity only
        assert "Driven most by" in description(ix)
        ix = await bot.slash(guild, "ed", "klout", {"user": guild.member("alice")})
        assert description(ix).startswith("Alice: ")  # history, and a reply now
        card = await bot.card(guild, "alice")
        assert card.counts_by_kind == {"reply": 10}  # 10 replies read back from history

        ix = await bot.slash(guild, "ed", "leaderboard")
        board = description(ix)
        assert "Alice" in board and "Cy" in board

        bot.tick()
        start = len(fake.requests)
        await fake.send_message(guild.id, guild.channel_id, guild.member("di"),
                                f"<@{bot.bot_id}> what about <@{cy_id}>?")
        answer = await fake.wait_for_request(
            "POST", rf"/channels/{guild.channel_id}/messages", start=start)
        assert answer.json["embeds"][0]["title"].startswith("Cy: ")

        # What the bot shows is what a full rescore of everything now gives.
        shown = description(await bot.slash(guild, "cy", "klout")).splitlines()[0]
        await bot.rescore(guild)
        assert description(await bot.slash(guild, "cy", "klout")).splitlines()[0] == shown


async def test_a_second_different_question_is_answered_and_a_third_klout_waits(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "c.db"):
        answers = []
        for command in ("klout", "leaderboard", "klout", "klout"):  # one instant
            start = len(fake.requests)
            ix = await fake.invoke_slash(guild.id, guild.channel_id, guild.member("alice"),
                                         command)
            await fake.wait_for_request("POST", rf"/interactions/{ix.id}/[^/]+/callback",
                                        start=start)
            answers.append(ix.callbacks[0]["data"])
        texts = [a["embeds"][0]["description"] if a.get("embeds") else a.get("content", "")
                 for a in answers]
        assert all("try again" not in t for t in texts[:3]), texts  # burst of two /klout
        assert "try again in 3 s" in texts[3]
        assert answers[3]["flags"] & 64  # said to her alone
