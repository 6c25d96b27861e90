"""History backfill: on join or on request, once, resumable, within the window."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.discord.harness import DiscordBot, discord_bot
from tests.fakes.discord_fake import FakeDiscord, FakeGuild


async def history(fake: FakeDiscord, guild: FakeGuild, count: int, channel: int | None = None
                  ) -> None:
    """Messages posted while the bot was not listening: alice posts, others reply."""
    channel = channel or guild.channel_id
    last = None
    for i in range(count):
        if i % 2 == 0:
            last = await fake.send_message(guild.id, channel, guild.member("alice"), "post")
        else:
            await fake.send_message(guild.id, channel, guild.member("bob"), "re",
                                    reference=last)


async def run_backfill(bot: DiscordBot, guild: FakeGuild) -> str:
    """/kloutadmin backfill as the owner; returns the final progress text."""
    ix = await bot.slash(guild, bot.fake.owner, "kloutadmin", subcommand="backfill")
    assert ix.callbacks[0]["data"]["flags"] & 64
    task = bot.adapter.backfill.running(guild.id)
    assert task is not None
    await task
    await bot.fake.wait_for_request(
        "PATCH", rf"/webhooks/\d+/{ix.token}/messages/@original",
        where=lambda r: "Done" in r.json["embeds"][0]["description"])
    assert ix.original is not None
    return str(ix.original["embeds"][0]["description"])


async def test_history_before_the_first_start_is_read_once_and_scored(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    """Invited while offline, then started: the guild arrives at connect, never as a join."""
    await history(fake, guild, 150)
    memes = next(cid for cid, c in guild.channels.items() if c["name"] == "memes")
    await history(fake, guild, 3, memes)
    db = tmp_path / "b.db"
    async with discord_bot(fake, db) as bot:
        status = await (await bot.adapter.backfill.wait_started(guild.id))
        assert status.finished and not status.failed and status.messages == 153
        events = await bot.events_of(guild)
        assert len(events) == 153 + 76  # every message, and 75 + 1 replies
        reads = len(fake.requests_for("GET", r"/channels/\d+/messages"))
        assert reads == 3  # general: two pages; memes: one
        # Rescored when the backfill ended: no /rescore, no scheduled run needed.
        assert (await bot.card(guild, "alice")).counts_by_kind == {"reply": 76}

        text = await run_backfill(bot, guild)  # an admin asks again: nothing new
        assert "read 0 messages from the last 30 days in 2 channels" in text
        assert "Scores include them now" in text
        assert len(await bot.events_of(guild)) == len(events)
        # A finished channel costs one request: anything newer than what was read?
        assert len(fake.requests_for("GET", r"/channels/\d+/messages")) == reads + 2

    async with discord_bot(fake, db) as bot:  # a restart never backfills it again
        assert bot.adapter.backfill.running(guild.id) is None
        await bot.slash(guild, "alice", "klout")  # the guild has been seen by now
        assert bot.adapter.backfill.running(guild.id) is None
        assert len(fake.requests_for("GET", r"/channels/\d+/messages")) == reads + 2
        assert len(await bot.events_of(guild)) == len(events)


async def test_a_guild_with_nothing_readable_is_backfilled_once(
        fake: FakeDiscord, tmp_path: Path) -> None:
    empty = fake.add_guild("Empty", members=["alice"])
    db = tmp_path / "e.db"
    async with discord_bot(fake, db) as bot:
        status = await (await bot.adapter.backfill.wait_started(empty.id))
        assert status.finished and status.messages == 0
    first = len(fake.requests_for("GET", r"/channels/\d+/messages"))
    async with discord_bot(fake, db) as bot:
        await bot.slash(empty, "alice", "klout")
        assert bot.adapter.backfill.running(empty.id) is None
    assert len(fake.requests_for("GET", r"/channels/\d+/messages")) == first


async def test_backfill_resumes_where_it_stopped(fake: FakeDiscord, guild: FakeGuild,
                                                 tmp_path: Path) -> None:
    await history(fake, guild, 250)
    db = tmp_path / "r.db"
    route = rf"/channels/{guild.channel_id}/messages"
    async with discord_bot(fake, db, backfill_pause_ms=300) as bot:
        first = bot.adapter.backfill.start(bot.adapter.client.get_guild(guild.id))  # type: ignore[arg-type]
        assert first is not None
        # The first page is read; then the bot loses access to #general for a while.
        await fake.wait_for_request("GET", route)
        fake.fail_next(f"GET {route}", 403)
        status = await first
        assert status.skipped == [str(guild.channel_id)]
        assert len(await bot.events_of(guild)) == 100 + 50
    async with discord_bot(fake, db) as bot:  # a restart resumes on its own
        await (await bot.adapter.backfill.wait_started(guild.id))
        assert len(await bot.events_of(guild)) == 250 + 125
    statuses = [r.status for r in fake.requests_for("GET", route)]
    # Page 1, refused page 2; after the restart: anything newer? then pages 2 and 3.
    assert statuses == [200, 403, 200, 200, 200]


async def test_joining_a_server_backfills_within_the_window(fake: FakeDiscord,
                                                            tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "j.db", backfill_days=1) as bot:
        fresh = fake.add_guild("Fresh", members=["alice", "bob"])
        stale = fake.add_guild("Stale", members=["alice", "bob"])
        for guild in (fresh, stale):
            for name in ("alice", "bob", "alice", "bob", "bob"):
                # Stored without a gateway event: the bot isn't there yet.
                fake._new_message(guild.channel_id, guild.member(name)["user"])
        await fake.guild_join(fresh)
        status = await (await bot.adapter.backfill.wait_started(fresh.id))
        assert status.messages == 5 and len(await bot.events_of(fresh)) == 5

        bot.clock.advance(timedelta(days=2))  # stale's messages are now outside the window
        await fake.guild_join(stale)
        status = await (await bot.adapter.backfill.wait_started(stale.id))
        assert status.finished and status.messages == 0
        assert await bot.events_of(stale) == []
