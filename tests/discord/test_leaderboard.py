"""/leaderboard pages and its buttons, which work for anyone, after restarts too."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from commands.types import Pager, Reply
from tests.discord.harness import DiscordBot, bot_config, discord_bot
from tests.fakes.discord_fake import FakeDiscord, FakeGuild


async def five_scored(bot: DiscordBot, guild: FakeGuild) -> None:
    names = ["alice", "bob", "cy", "di", "ed"]
    for i, name in enumerate(names):
        post = await bot.say(guild, name, "post")
        for fan in names[i + 1:]:
            await bot.react(guild, fan, post)
    await bot.rescore(guild)


def small_pages(fake: FakeDiscord, db: Path):  # type: ignore[no-untyped-def]
    config = bot_config(fake, db)
    return config.with_overrides(bot=dataclasses.replace(config.bot, leaderboard_page_size=2))


def buttons(message: dict) -> list[dict]:  # type: ignore[type-arg]
    return [c for row in message.get("components", []) for c in row["components"]]


async def test_leaderboard_pages_with_buttons(fake: FakeDiscord, guild: FakeGuild,
                                              tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    async with discord_bot(fake, db, config=small_pages(fake, db)) as bot:
        await five_scored(bot, guild)
        ix = await bot.slash(guild, "alice", "leaderboard")
        data = ix.callbacks[0]["data"]
        embed = data["embeds"][0]
        assert embed["title"] == "Leaderboard, this week · Klout HQ"
        assert embed["footer"]["text"].startswith("Page 1 of 3")
        prev, nxt = buttons(data)
        assert prev["disabled"] and not nxt.get("disabled")
        assert nxt["custom_id"] == f"klout:lb:{guild.id}:2:week:n"

        # Someone else clicks "next" on alice's leaderboard: the message turns the page.
        assert ix.original is not None
        click = await fake.click_button(guild.id, guild.channel_id, guild.member("ed"),
                                        int(ix.original["id"]), nxt["custom_id"])
        await fake.wait_for_request("POST", rf"/interactions/{click.id}/[^/]+/callback")
        assert click.callbacks[0]["type"] == 7
        page2 = fake.messages[guild.channel_id][int(ix.original["id"])]
        assert page2["embeds"][0]["footer"]["text"].startswith("Page 2 of 3")
        assert page2["embeds"][0]["description"].lstrip().startswith("3.")
        prev, nxt = buttons(page2)
        assert prev["custom_id"] == f"klout:lb:{guild.id}:1:week:p"
        assert nxt["custom_id"] == f"klout:lb:{guild.id}:3:week:n"

        ix = await bot.slash(guild, "bob", "leaderboard", {"page": 9})
        assert "There is no page 9" in ix.callbacks[0]["data"]["content"]


async def test_buttons_on_a_posted_board_work_after_a_restart(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    async with discord_bot(fake, db, config=small_pages(fake, db)) as bot:
        await five_scored(bot, guild)
        board = await bot.app.influence.board("discord", str(guild.id), 1, bot.clock.now(),
                                              "alltime")
        reply = Reply("leaderboard", {"board": board, "community": "Klout HQ"},
                      pager=Pager("leaderboard", 1, board.pages, ("alltime",)))
        posted = await bot.adapter.send(str(guild.channel_id), reply)
    assert posted is not None
    nxt = buttons(fake.messages[guild.channel_id][int(posted)])[1]
    async with discord_bot(fake, db, config=small_pages(fake, db)) as bot:
        click = await fake.click_button(guild.id, guild.channel_id, guild.member("cy"),
                                        int(posted), nxt["custom_id"])
        await fake.wait_for_request("POST", rf"/interactions/{click.id}/[^/]+/callback")
        # The weekly post stays as posted; the clicker sees page 2 to themselves.
        answer = click.callbacks[0]
        assert answer["type"] == 4 and answer["data"]["flags"] & 64
        assert answer["data"]["embeds"][0]["footer"]["text"].startswith("Page 2 of 3")
        assert "all time" in answer["data"]["embeds"][0]["title"]
        posted_now = fake.messages[guild.channel_id][int(posted)]
        assert posted_now["embeds"][0]["footer"]["text"].startswith("Page 1 of 3")


async def bob_mentions_the_bot(bot: DiscordBot, guild: FakeGuild, text: str) -> Any:
    """bob writes "@KloutBot <text>"; the bot's answer, as the fake received it."""
    fake = bot.fake
    start = len(fake.requests)
    await fake.send_message(guild.id, guild.channel_id, guild.member("bob"),
                            f"<@{bot.bot_id}> {text}")
    return await fake.wait_for_request("POST", rf"/channels/{guild.channel_id}/messages",
                                       start=start)


async def test_a_mention_can_ask_for_a_page(fake: FakeDiscord, guild: FakeGuild,
                                            tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    async with discord_bot(fake, db, config=small_pages(fake, db)) as bot:
        await five_scored(bot, guild)
        post = await bob_mentions_the_bot(bot, guild, "leaderboard 2")
        embed = post.json["embeds"][0]
        assert embed["footer"]["text"].startswith("Page 2 of 3")
        assert embed["description"].lstrip().startswith("3.")
        assert post.json["allowed_mentions"] == {"parse": [], "replied_user": False}


async def test_a_private_command_by_mention_only_explains_itself(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "p.db") as bot:
        await five_scored(bot, guild)
        post = await bob_mentions_the_bot(bot, guild, "privacy optout")
        card = await bot.card(guild, "bob")
        assert card.status == "scored"  # still scored: nothing was done in public
        assert "/privacy" in str(post.json)
