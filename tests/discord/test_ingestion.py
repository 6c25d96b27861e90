"""Messages, replies, mentions and reactions become events; removals and deletes undo them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from commands.types import Reply
from scoring.kinds import Kind
from tests.discord.harness import discord_bot
from tests.fakes.discord_fake import FakeDiscord, FakeGuild

MESSAGE, REPLY, MENTION, REACTION = (int(k) for k in (Kind.MESSAGE, Kind.REPLY, Kind.MENTION,
                                                      Kind.REACTION))


def uid(guild: FakeGuild, name: str) -> str:
    return str(guild.member(name)["user"]["id"])


async def test_activity_is_ingested_and_reflected_in_scores(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "i.db") as bot:
        post = await bot.say(guild, "alice", "hello")
        reply = await bot.say(guild, "bob", "hi!", reference=post)
        await bot.say(guild, "cy", f"<@{uid(guild, 'alice')}> is great")
        await bot.react(guild, "di", post)
        await bot.react(guild, "alice", post)  # on oneself: not counted
        alice, bob = uid(guild, "alice"), uid(guild, "bob")
        assert await bot.events_of(guild, post["id"]) == [
            (MESSAGE, alice, ""), (REACTION, uid(guild, "di"), alice)]
        assert await bot.events_of(guild, reply["id"]) == [
            (MESSAGE, bob, ""), (REPLY, bob, alice)]
        assert len(await bot.events_of(guild)) == 6  # 3 messages, reply, mention, reaction

        await bot.rescore(guild)
        alice_card, bob_card = await bot.card(guild, "alice"), await bot.card(guild, "bob")
        assert alice_card.status == "scored" and alice_card.rank == 1
        assert alice_card.score > bob_card.score >= 1
        assert alice_card.counts_by_kind == {"reply": 1, "mention": 1, "reaction": 1}
        # Display names were stored as seen: nobody is an "Unknown user".
        board = await bot.app.influence.board("discord", str(guild.id), 1, bot.clock.now(),
                                              "week")
        assert {line.name for line in board.lines} >= {"Alice", "Bob", "Cy", "Di"}


async def test_reaction_removal_and_message_delete(fake: FakeDiscord, guild: FakeGuild,
                                                   tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "r.db") as bot:
        post = await bot.say(guild, "alice", "hello")
        await bot.react(guild, "bob", post)
        await bot.react(guild, "cy", post)
        channel, mid = guild.channel_id, int(post["id"])
        await fake.remove_reaction(channel, mid, guild.member("bob"))
        await bot.adapter.events.wait_handled("MESSAGE_REACTION_REMOVE", 1)
        alice = uid(guild, "alice")
        assert await bot.events_of(guild, mid) == [
            (MESSAGE, alice, ""), (REACTION, uid(guild, "cy"), alice)]

        reply = await bot.say(guild, "bob", f"<@{uid(guild, 'di')}> look", reference=post)
        assert len(await bot.events_of(guild, reply["id"])) == 3  # message, reply, mention
        await fake.delete_message(channel, int(reply["id"]))
        await bot.adapter.events.wait_handled("MESSAGE_DELETE", 1)
        assert await bot.events_of(guild, reply["id"]) == []
        await fake.delete_message(channel, mid)  # the reactions on it go too
        await bot.adapter.events.wait_handled("MESSAGE_DELETE", 2)
        assert await bot.events_of(guild) == []


async def test_edits_dms_bots_and_the_bot_itself_do_not_count(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    helper = fake.make_user("helperbot", bot=True)
    fake.make_member(guild.id, helper)
    async with discord_bot(fake, tmp_path / "b.db") as bot:
        post = await bot.say(guild, "alice", "hello")
        await fake.edit_message(guild.channel_id, int(post["id"]),
                                f"hello <@{uid(guild, 'bob')}>")
        bot_post = await fake.send_message(guild.id, guild.channel_id, helper, "beep")
        await bot.adapter.events.wait_handled("MESSAGE_CREATE", 2)
        await bot.react(guild, "bob", bot_post)  # on a bot's message: nobody gains
        await bot.say(guild, "cy", "hi bot", reference=bot_post)
        # Without the direct_messages intent Discord sends no DMs; were one to arrive:
        dm = fake.open_dm(guild.member("di")["user"])
        bot.adapter.events.handle("MESSAGE_CREATE", {
            **post, "id": str(int(post["id"]) + 1), "channel_id": dm["id"], "guild_id": None})
        own = await bot.adapter.send(str(guild.channel_id),
                                     Reply("leaderboard_empty", {"bot_name": "KloutBot"}))
        assert own is not None and int(own) in fake.messages[guild.channel_id]
        events = await bot.events_of(guild)
        # alice's post, the helper bot's (inert: the bot account stays flagged), cy's reply.
        assert [(k, a) for k, a, _t in events] == [
            (MESSAGE, uid(guild, "alice")), (MESSAGE, helper["id"]), (MESSAGE, uid(guild, "cy"))]
        await bot.rescore(guild)
        helper_card = await bot.card(guild, "helperbot")
        assert helper_card.status == "unscored"


async def test_excluded_channel_role_and_user_do_not_count(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    muted = fake.add_role(guild.id, "Muted")
    guild.member("ed")["roles"].append(muted["id"])
    memes = next(cid for cid, c in guild.channels.items() if c["name"] == "memes")
    async with discord_bot(fake, tmp_path / "x.db") as bot:
        for args in (("exclude-channel", {"channel": guild.channels[memes]}),
                     ("exclude-role", {"role": muted}),
                     ("exclude-user", {"user": guild.member("di")})):
            ix = await bot.slash(guild, fake.owner, "kloutadmin", args[1], subcommand=args[0])
            assert "no longer counts" in ix.callbacks[0]["data"]["embeds"][0]["description"]
        post = await bot.say(guild, "alice", "in memes", channel=memes)
        counted = await bot.say(guild, "alice", "in general")
        await bot.say(guild, "ed", "muted reply", reference=counted)
        await bot.react(guild, "di", counted)
        await bot.react(guild, "bob", counted)
        await bot.say(guild, "cy", f"<@{uid(guild, 'ed')}> hi")  # mentions a muted member
        assert await bot.events_of(guild, post["id"]) == []
        alice = uid(guild, "alice")
        assert await bot.events_of(guild, counted["id"]) == [
            (MESSAGE, alice, ""), (REACTION, uid(guild, "bob"), alice)]
        assert [(k, a) for k, a, _ in await bot.events_of(guild)] == [
            (MESSAGE, alice), (REACTION, uid(guild, "bob")), (MESSAGE, uid(guild, "cy"))]


async def test_two_guilds_sharing_a_member_keep_their_own_scores(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    other = fake.add_guild("Elsewhere", members=[guild.member("alice")["user"], "zed"])
    other.members[int(uid(guild, "alice"))]["nick"] = "Ally"
    async with discord_bot(fake, tmp_path / "g.db") as bot:
        post = await bot.say(guild, "alice", "hello")
        for fan in ("bob", "cy"):
            await bot.say(guild, fan, "hey", reference=post)
        await bot.say(other, "alice", "hi there")
        await bot.rescore(guild)
        await bot.rescore(other)
        home = await bot.slash(guild, "bob", "klout", {"user": guild.member("alice")})
        away = await bot.slash(other, "zed", "klout", {"user": other.member("alice")})
        assert home.callbacks[0]["data"]["embeds"][0]["title"].startswith("Alice: ")
        away_text = away.callbacks[0]["data"]["embeds"][0]
        assert away_text["title"].startswith("Ally: ")  # the nickname in that server
        home_card = await bot.card(guild, "alice")
        away_card = await bot.card(other, "alice")
        assert home_card.counts_by_kind == {"reply": 2}
        assert away_card.counts_by_kind == {}
        assert home_card.score > away_card.score


async def test_a_bad_payload_is_logged_and_skipped(fake: FakeDiscord, guild: FakeGuild,
                                                  tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    async with discord_bot(fake, tmp_path / "p.db") as bot:
        with caplog.at_level(logging.ERROR):
            bot.adapter.events.handle("MESSAGE_CREATE", {"id": "1", "guild_id": "2"})
        assert "could not ingest MESSAGE_CREATE" in caplog.text
        await bot.say(guild, "alice", "still fine")
        assert len(await bot.events_of(guild)) == 1
