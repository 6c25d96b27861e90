"""/klout and mentions, end to end: the real discord.py against FakeDiscord."""

from __future__ import annotations

import asyncio
from pathlib import Path

import discord

from tests.discord.harness import DiscordBot, discord_bot
from tests.fakes.discord_fake import FakeDiscord, FakeGuild

NO_PINGS = {"parse": []}


async def popular_alice(bot: DiscordBot, guild: FakeGuild) -> None:
    """alice posts; bob, cy and di reply and react; bob also posts once."""
    post = await bot.say(guild, "alice", "hello all")
    for fan in ("bob", "cy", "di"):
        await bot.say(guild, fan, "nice", reference=post)
        await bot.react(guild, fan, post)
    await bot.say(guild, "bob", "me too")
    await bot.rescore(guild)


async def test_slash_klout_answers_with_an_embed(fake: FakeDiscord, guild: FakeGuild,
                                                 tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "k.db") as bot:
        await popular_alice(bot, guild)
        ix = await bot.slash(guild, "alice", "klout")
        callback = ix.callbacks[0]
        assert callback["type"] == 4
        data = callback["data"]
        assert data["allowed_mentions"] == NO_PINGS
        embed = data["embeds"][0]
        card = await bot.card(guild, "alice")
        assert embed["title"] == f"Alice: {card.score} (new this week)"
        assert f"Tier: {card.tier}" in embed["description"]
        assert f"rank #1 of {card.members}" in embed["description"]
        assert "Why:" in embed["description"]
        assert embed["footer"]["text"].startswith("Score model")
        assert not data.get("flags", 0) & 64  # public

        ix = await bot.slash(guild, "alice", "klout", {"user": guild.member("bob")})
        assert ix.callbacks[0]["data"]["embeds"][0]["title"].startswith("Bob: ")


async def test_unscored_user_is_told_how_scores_grow(fake: FakeDiscord, guild: FakeGuild,
                                                    tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "u.db") as bot:
        ix = await bot.slash(guild, "ed", "klout")
        text = ix.callbacks[0]["data"]["embeds"][0]["description"]
        assert "You don't have a score yet" in text
        ix = await bot.slash(guild, "ed", "klout", {"user": guild.member("cy")})
        text = ix.callbacks[0]["data"]["embeds"][0]["description"]
        assert "Cy doesn't have a score yet" in text


async def test_mentioning_the_bot_answers_like_klout(fake: FakeDiscord, guild: FakeGuild,
                                                    tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "m.db") as bot:
        await popular_alice(bot, guild)
        bob_id = guild.member("bob")["user"]["id"]
        start = len(fake.requests)
        asked = await fake.send_message(guild.id, guild.channel_id, guild.member("ed"),
                                        f"<@{bot.bot_id}> what about <@{bob_id}>?")
        post = await fake.wait_for_request("POST", rf"/channels/{guild.channel_id}/messages",
                                           start=start)
        body = post.json
        assert body["allowed_mentions"] == {"parse": [], "replied_user": False}
        assert str(body["message_reference"]["message_id"]) == asked["id"]
        assert body["embeds"][0]["title"].startswith("Bob: ")

        bot.tick()
        start = len(fake.requests)
        await fake.send_message(guild.id, guild.channel_id, guild.member("alice"),
                                f"<@{bot.bot_id}>")
        post = await fake.wait_for_request("POST", rf"/channels/{guild.channel_id}/messages",
                                           start=start)
        assert post.json["embeds"][0]["title"].startswith("Alice: ")


async def test_mention_events_are_ingested_but_the_bot_is_not_a_target(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "t.db") as bot:
        cy = guild.member("cy")["user"]
        message = await bot.say(guild, "alice", f"hey <@{cy['id']}> and <@{bot.bot_id}>")
        kinds = await bot.events_of(guild, message["id"])
        alice = guild.member("alice")["user"]["id"]
        assert kinds == [(0, alice, ""), (2, alice, cy["id"])]


async def test_asking_about_someone_who_opted_out_is_refused(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "o.db") as bot:
        await popular_alice(bot, guild)
        account = await bot.app.store.accounts.by_external(
            "discord", guild.member("alice")["user"]["id"])
        assert account is not None
        await bot.app.store.privacy.set_opted_out([account], True)
        ix = await bot.slash(guild, "bob", "klout", {"user": guild.member("alice")})
        data = ix.callbacks[0]["data"]
        assert data["content"] == "Alice has opted out of scoring, so their score isn't shown."
        assert data["flags"] & 64 and data["allowed_mentions"] == NO_PINGS


async def test_a_cached_card_is_never_served_once_its_member_opts_out(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "c.db") as bot:
        await popular_alice(bot, guild)
        first = await bot.slash(guild, "bob", "klout", {"user": guild.member("alice")})
        hits = bot.app.cards.hits
        again = await bot.slash(guild, "bob", "klout", {"user": guild.member("alice")})
        assert bot.app.cards.hits == hits + 1
        assert again.callbacks[0]["data"]["embeds"] == first.callbacks[0]["data"]["embeds"]
        account = await bot.app.store.accounts.by_external(
            "discord", guild.member("alice")["user"]["id"])
        assert account is not None
        await bot.app.store.privacy.set_opted_out([account], True)
        ix = await bot.slash(guild, "bob", "klout", {"user": guild.member("alice")})
        assert "opted out" in ix.callbacks[0]["data"]["content"]
        assert bot.app.cards.hits == hits + 1


async def test_the_bots_own_answers_skip_discord_py_but_mentions_do_not(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "s.db") as bot:
        parsed: list[int] = []
        seen = asyncio.Event()

        async def on_message(message: discord.Message) -> None:
            parsed.append(message.author.id)
            seen.set()

        bot.adapter.client.add_listener(on_message)
        before = bot.adapter.events.handled["MESSAGE_CREATE"]
        await bot.slash(guild, "alice", "klout")
        # The answer comes back through the gateway: ingestion sees it, discord.py doesn't.
        await bot.adapter.events.wait_handled("MESSAGE_CREATE", before + 1)
        await bot.say(guild, "cy", f"<@{bot.bot_id}>")
        await asyncio.wait_for(seen.wait(), 10)
        assert parsed == [int(guild.member("cy")["user"]["id"])]
