"""End-to-end: the real discord.py client against tests.fakes.discord_fake.FakeDiscord."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.adapters.discord_endpoints import (
    DISCORD_API_BASE,
    DISCORD_GATEWAY,
    apply_endpoints,
    current_endpoints,
)
from tests.fakes.discord_fake import FakeDiscord, FakeGuild

TIMEOUT = 5.0
INTENTS = discord.Intents(guilds=True, guild_messages=True, guild_reactions=True)
NO_PINGS = discord.AllowedMentions.none()


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    previous = current_endpoints()
    async with FakeDiscord() as server:
        apply_endpoints(server.api_base, server.gateway_url)
        try:
            yield server
        finally:
            apply_endpoints(*previous)


@pytest.fixture
def guild(fake: FakeDiscord) -> FakeGuild:
    return fake.add_guild("Klout HQ", channels=("general", "memes"), members=["alice", "bob"])


class QuickBot(commands.Bot):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py sleeps 5 s before every non-initial IDENTIFY; the fake needs no pause."""


def make_bot() -> commands.Bot:
    return QuickBot(
        command_prefix="!klout-tests-only ",
        intents=INTENTS,
        help_command=None,
        chunk_guilds_at_startup=False,
        guild_ready_timeout=0.05,
    )


@asynccontextmanager
async def running(client: discord.Client, fake: FakeDiscord) -> AsyncIterator[discord.Client]:
    """Log in, connect, wait for on_ready; always close the client (no leaked sessions)."""
    connect: asyncio.Task[None] | None = None
    try:
        await asyncio.wait_for(client.login(fake.token), TIMEOUT)
        connect = asyncio.create_task(client.connect())
        ready = asyncio.ensure_future(client.wait_until_ready())
        done, _ = await asyncio.wait(
            {connect, ready}, timeout=TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        ready.cancel()
        if connect in done:
            connect.result()  # re-raise why the gateway loop ended
        if ready not in done:
            raise TimeoutError("client never became ready")
        yield client
    finally:
        await client.close()
        if connect is not None:
            await asyncio.wait_for(connect, TIMEOUT)


def test_apply_endpoints_roundtrip() -> None:
    previous = current_endpoints()
    try:
        apply_endpoints("http://127.0.0.1:1/api/v10/", "ws://127.0.0.1:1/gateway")
        assert current_endpoints() == ("http://127.0.0.1:1/api/v10", "ws://127.0.0.1:1/gateway")
        assert discord.http.Route("GET", "/users/@me").url == "http://127.0.0.1:1/api/v10/users/@me"
        with pytest.raises(ValueError):
            apply_endpoints("127.0.0.1/api", "ws://127.0.0.1:1/gateway")
        with pytest.raises(ValueError):
            apply_endpoints("http://127.0.0.1:1/api/v10", "http://127.0.0.1:1/gateway")
    finally:
        apply_endpoints(*previous)
    assert current_endpoints() == (DISCORD_API_BASE, DISCORD_GATEWAY)


async def test_ready_with_guilds(fake: FakeDiscord, guild: FakeGuild) -> None:
    second = fake.add_guild("Second")
    async with running(make_bot(), fake) as client:
        assert {g.id for g in client.guilds} == {guild.id, second.id}
        cached = client.get_guild(guild.id)
        assert cached is not None and not cached.unavailable
        assert {c.name for c in cached.text_channels} == {"general", "memes"}
        assert cached.me.guild_permissions.manage_roles
        # Without the presences intent Discord only sends the bot's own member.
        assert cached.get_member(int(guild.member("alice")["user"]["id"])) is None
        assert client.application_id == fake.application_id
    assert fake.identifies[0]["intents"] == INTENTS.value
    # discord.py asked for zlib-stream yet accepted the fake's plain text frames.
    assert fake.connections[0]["query"]["compress"] == "zlib-stream"
    assert not fake.unhandled


async def test_hundred_guilds(fake: FakeDiscord) -> None:
    fake.add_guilds(100, members_per_guild=3)
    async with running(make_bot(), fake) as client:
        assert len(client.guilds) == 100


async def test_message_and_reaction_events(fake: FakeDiscord, guild: FakeGuild) -> None:
    alice, bob = guild.member("alice"), guild.member("bob")
    async with running(make_bot(), fake) as client:
        assert client.user is not None
        waiter = client.wait_for("message", timeout=TIMEOUT)
        plain = await fake.send_message(guild.id, guild.channel_id, alice, content="hello all")
        message = await waiter
        assert message.id == int(plain["id"])
        assert message.content == ""  # no message_content intent, bot not mentioned
        assert isinstance(message.author, discord.Member)
        assert message.author.id == int(alice["user"]["id"])

        waiter = client.wait_for("message", timeout=TIMEOUT)
        await fake.send_message(
            guild.id, guild.channel_id, bob, content=f"<@{client.user.id}> score?", reference=plain
        )
        reply = await waiter
        assert reply.content.endswith("score?")  # mentions the bot: content is delivered
        assert client.user in reply.mentions
        assert reply.reference is not None and reply.reference.message_id == message.id

        add_waiter = client.wait_for("raw_reaction_add", timeout=TIMEOUT)
        await fake.add_reaction(guild.channel_id, message.id, bob)
        added = await add_waiter
        assert (added.user_id, added.message_id, str(added.emoji)) == (
            int(bob["user"]["id"]), message.id, "\N{THUMBS UP SIGN}",
        )
        assert added.member is not None and added.message_author_id == message.author.id

        remove_waiter = client.wait_for("raw_reaction_remove", timeout=TIMEOUT)
        await fake.remove_reaction(guild.channel_id, message.id, bob)
        assert (await remove_waiter).user_id == int(bob["user"]["id"])


async def test_send_history_and_rate_limit(fake: FakeDiscord, guild: FakeGuild) -> None:
    alice_id = guild.member("alice")["user"]["id"]
    async with running(make_bot(), fake) as client:
        channel = client.get_channel(guild.channel_id)
        assert isinstance(channel, discord.TextChannel) and client.user is not None
        sent = await asyncio.wait_for(
            channel.send(f"<@{alice_id}> scored 42", allowed_mentions=NO_PINGS), TIMEOUT
        )
        post = fake.requests_for("POST", rf"/channels/{guild.channel_id}/messages")[-1]
        assert post.json["allowed_mentions"] == {"parse": []}
        assert fake.messages[guild.channel_id][sent.id]["author"]["id"] == str(client.user.id)

        fake.fail_next("POST /channels/{channel_id}/messages", 429, retry_after=0.05)
        retried = await asyncio.wait_for(channel.send("after the 429"), TIMEOUT)
        statuses = [r.status for r in fake.requests_for("POST", r"/channels/\d+/messages")]
        assert statuses == [200, 429, 200]
        assert retried.content == "after the 429"

        for i in range(5):
            await fake.send_message(guild.id, guild.channel_id, guild.member("bob"), f"m{i}")
        newest = [m async for m in channel.history(limit=3)]
        assert [m.content for m in newest] == ["m4", "m3", "m2"]  # REST: the portal toggle
        ids = sorted(fake.messages[guild.channel_id])
        assert [m.id for m in newest] == ids[::-1][:3]
        after = [m async for m in channel.history(after=discord.Object(ids[2]), limit=10)]
        assert [m.id for m in after] == ids[3:]
        before = [m async for m in channel.history(before=discord.Object(ids[2]), limit=10)]
        assert [m.id for m in before] == ids[1::-1]


async def test_slash_commands_and_buttons(fake: FakeDiscord, guild: FakeGuild) -> None:
    bot = make_bot()

    @bot.tree.command(name="klout", description="Show a score")
    async def klout(interaction: discord.Interaction, user: discord.Member) -> None:
        text = f"{user.display_name}: 42"
        await interaction.response.send_message(text, allowed_mentions=NO_PINGS)

    board = app_commands.Group(name="board", description="Leaderboards")

    @board.command(name="card", description="Score card image")
    async def card(interaction: discord.Interaction, top: int = 10) -> None:
        image = discord.File(io.BytesIO(b"\x89PNG fake"), filename="card.png")
        await interaction.response.send_message(f"top {top}", file=image)

    @board.command(name="slow", description="Deferred answer")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send("done thinking")

    bot.tree.add_command(board)

    class Vote(discord.ui.View):
        @discord.ui.button(label="+1", custom_id="vote:up")
        async def up(self, interaction: discord.Interaction, _: discord.ui.Button[Vote]) -> None:
            await interaction.response.edit_message(content="voted")

    alice, bob = guild.member("alice"), guild.member("bob")
    async with running(bot, fake) as client:
        synced = await asyncio.wait_for(bot.tree.sync(), TIMEOUT)
        assert {c.name for c in synced} == {"klout", "board"}

        ix = await fake.invoke_slash(guild.id, guild.channel_id, alice, "klout", {"user": bob})
        await fake.wait_for_request("POST", rf"/interactions/{ix.id}/[^/]+/callback")
        assert ix.callbacks[0]["type"] == 4
        assert ix.callbacks[0]["data"]["content"] == "Bob: 42"
        assert ix.callbacks[0]["data"]["allowed_mentions"] == {"parse": []}

        ix = await fake.invoke_slash(
            guild.id, guild.channel_id, alice, "board", {"top": 3}, subcommand="card"
        )
        await fake.wait_for_request("POST", rf"/interactions/{ix.id}/[^/]+/callback")
        assert ix.callbacks[0]["data"]["content"] == "top 3"
        assert [(f["filename"], f["data"]) for f in ix.callbacks[0]["files"]] == [
            ("card.png", b"\x89PNG fake")
        ]
        assert ix.original is not None and ix.original["attachments"][0]["size"] == 9

        ix = await fake.invoke_slash(guild.id, guild.channel_id, bob, "board", subcommand="slow")
        await fake.wait_for_request(
            "POST", rf"/webhooks/{fake.application_id}/{ix.token}", where=lambda r: r.status == 200
        )
        assert ix.callbacks[0]["type"] == 5
        assert ix.original is not None and ix.original["content"] == "done thinking"

        channel = client.get_channel(guild.channel_id)
        assert isinstance(channel, discord.TextChannel)
        poll = await asyncio.wait_for(channel.send("vote?", view=Vote(timeout=None)), TIMEOUT)
        ix = await fake.click_button(guild.id, guild.channel_id, bob, poll.id, "vote:up")
        await fake.wait_for_request("POST", rf"/interactions/{ix.id}/[^/]+/callback")
        assert ix.callbacks[0]["type"] == 7
        assert fake.messages[guild.channel_id][poll.id]["content"] == "voted"
    assert not fake.unhandled


async def test_roles_and_forbidden(fake: FakeDiscord, guild: FakeGuild) -> None:
    reward = fake.add_role(guild.id, "Influencer")
    above_bot = fake.add_role(guild.id, "Staff", position=60)
    alice_id = int(guild.member("alice")["user"]["id"])
    async with running(make_bot(), fake) as client:
        cached = client.get_guild(guild.id)
        assert cached is not None
        member = await asyncio.wait_for(cached.fetch_member(alice_id), TIMEOUT)
        await asyncio.wait_for(member.add_roles(discord.Object(int(reward["id"]))), TIMEOUT)
        assert reward["id"] in guild.members[alice_id]["roles"]
        with pytest.raises(discord.Forbidden) as denied:
            await asyncio.wait_for(member.add_roles(discord.Object(int(above_bot["id"]))), TIMEOUT)
        assert denied.value.code == 50013


async def test_disconnect_resume_replays_missed_events(fake: FakeDiscord, guild: FakeGuild) -> None:
    async with running(make_bot(), fake) as client:
        missed = client.wait_for("message", timeout=TIMEOUT)
        resumed = client.wait_for("resumed", timeout=TIMEOUT)
        assert await fake.disconnect(code=4000) == 1
        sent = await fake.send_message(guild.id, guild.channel_id, guild.member("alice"), "hi")
        assert (await missed).id == int(sent["id"])
        await resumed
        resume = await fake.wait_for_resume()
        assert resume["replayed"] == 1
        assert fake.connections[-1]["path"] == "/gateway/resume"  # READY's resume_gateway_url
        assert len(fake.identifies) == 1


async def test_invalid_session_reidentifies(fake: FakeDiscord, guild: FakeGuild) -> None:
    async with running(make_bot(), fake) as client:
        await fake.disconnect(code=4000, resumable=False)
        await fake.wait_for_identify(count=2)
        # discord.py keeps the resume URL for the fresh IDENTIFY (client.py connect loop).
        assert fake.connections[-1]["path"] == "/gateway/resume"
        waiter = client.wait_for("message", timeout=TIMEOUT)
        sent = await fake.send_message(guild.id, guild.channel_id, guild.member("bob"), "back")
        assert (await waiter).id == int(sent["id"])


async def test_rest_surface_and_interaction_webhooks(fake: FakeDiscord, guild: FakeGuild) -> None:
    bot = make_bot()

    @bot.tree.command(name="edit", description="Edits its own answer")
    async def edit(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("v1")
        original = await interaction.original_response()
        await interaction.edit_original_response(content=f"v2 of {original.id}")
        await interaction.followup.send("just for you", ephemeral=True)
        await interaction.delete_original_response()

    alice = guild.member("alice")
    alice_id = int(alice["user"]["id"])
    async with running(bot, fake) as client:
        cached = client.get_guild(guild.id)
        assert cached is not None
        user = await asyncio.wait_for(client.fetch_user(alice_id), TIMEOUT)
        dm = await asyncio.wait_for(user.create_dm(), TIMEOUT)
        assert fake.channels[dm.id]["type"] == 1
        # Guild.fetch_members needs Intents.members client-side; the raw route does not.
        page = await asyncio.wait_for(client.http.get_members(guild.id, 2, None), TIMEOUT)
        rest = await client.http.get_members(guild.id, 1000, int(page[-1]["user"]["id"]))
        assert {int(m["user"]["id"]) for m in page + rest} == set(guild.members)
        assert {c.id for c in await cached.fetch_channels()} == set(guild.channels)
        assert {r.id for r in await cached.fetch_roles()} == set(guild.roles)

        ix = await fake.invoke_slash(guild.id, guild.channel_id, alice, "edit")
        hook = rf"/webhooks/{fake.application_id}/{ix.token}/messages/@original"
        await fake.wait_for_request("DELETE", hook)
        assert [r.method for r in fake.requests_for(None, hook)] == ["GET", "PATCH", "DELETE"]
        assert ix.original is None and ix.followups[0]["flags"] & 64
        assert int(ix.followups[0]["id"]) not in fake.messages[guild.channel_id]

        posted = await fake.send_message(guild.id, guild.channel_id, alice, "typo")
        edited = client.wait_for("raw_message_edit", timeout=TIMEOUT)
        await fake.edit_message(guild.channel_id, int(posted["id"]), "fixed")
        assert (await edited).message_id == int(posted["id"])
        deleted = client.wait_for("raw_message_delete", timeout=TIMEOUT)
        await fake.delete_message(guild.channel_id, int(posted["id"]))
        assert (await deleted).message_id == int(posted["id"])

        removed = client.wait_for("guild_remove", timeout=TIMEOUT)
        await fake.remove_guild(guild.id)
        assert (await removed).id == guild.id
        assert client.get_guild(guild.id) is None

    async with aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bot {fake.token}"}
        async with http.get(f"{fake.api_base}/no/such/route", headers=auth) as resp:
            assert resp.status == 404 and resp.content_type == "application/json"
            assert await resp.json() == {"message": "404: Not Found", "code": 0}
        async with http.get(f"{fake.api_base}/users/@me") as resp:
            assert resp.status == 401
    assert [r.path for r in fake.unhandled] == ["/no/such/route"]


async def test_privileged_intents_must_be_enabled_in_portal(fake: FakeDiscord) -> None:
    fake.privileged_intents = 0
    bot = QuickBot(
        command_prefix="!klout-tests-only ",
        intents=discord.Intents(guilds=True, members=True),
        chunk_guilds_at_startup=False,
    )
    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with running(bot, fake):
            pass
