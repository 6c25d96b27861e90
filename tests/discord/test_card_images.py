"""/klout and /leaderboard images, end to end: real discord.py, real render workers,
avatars from the fake's CDN, the image edited into the answer as a multipart upload."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from bot.cards.draw import BOARD_WIDTH, CARD_SIZE
from tests.discord.harness import DiscordBot, discord_bot
from tests.discord.test_klout import popular_alice
from tests.discord.test_leaderboard import five_scored
from tests.discord.test_weekly_post import bot_posts, schedule_due_now
from tests.fakes.discord_fake import FakeDiscord, FakeGuild, FakeInteraction, Perms

EDIT_ORIGINAL = r".*/webhooks/\d+/[^/]+/messages/@original"


async def image_edit(bot: DiscordBot, ix: FakeInteraction, start: int) -> tuple[dict, Image.Image]:
    rec = await bot.fake.wait_for_request("PATCH", EDIT_ORIGINAL, start=start,
                                          where=lambda r: ix.token in r.path)
    [upload] = rec.files
    image = Image.open(io.BytesIO(upload["data"]))
    assert image.format == "PNG"
    return rec.json, image


async def test_klout_answers_at_once_then_edits_the_card_image_in(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "c.db", cards=True) as bot:
        await popular_alice(bot, guild)
        start = len(fake.requests)
        ix = await bot.slash(guild, "alice", "klout")
        assert ix.callbacks[0]["data"]["embeds"][0]["title"].startswith("Alice: ")
        assert not ix.callbacks[0]["files"]  # the text answer never waits for the image
        body, image = await image_edit(bot, ix, start)
        assert image.size == CARD_SIZE
        embed = body["embeds"][0]
        assert embed["image"]["url"] == "attachment://klout.png"
        assert embed["title"].startswith("Alice: ")
        assert any(p.startswith("/embed/avatars/") for p in fake.avatar_requests)
        # What the members see: the message now carries the PNG.
        assert ix.original is not None and ix.original["attachments"][0]["filename"] == "klout.png"

        start = len(fake.requests)
        ix = await bot.slash(guild, "bob", "leaderboard")
        _, board = await image_edit(bot, ix, start)
        assert board.width == BOARD_WIDTH


async def test_a_dead_render_worker_leaves_the_text_answer_and_is_replaced(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    async with discord_bot(fake, tmp_path / "f.db", cards=True) as bot:
        await popular_alice(bot, guild)
        start = len(fake.requests)
        ix = await bot.slash(guild, "alice", "klout")
        await image_edit(bot, ix, start)
        pool = bot.app.images._pool
        assert pool is not None
        for process in list(pool._processes.values()):  # as an out-of-memory kill would
            process.kill()
            process.join()
        caplog.set_level(logging.WARNING, "bot.adapters.discord_images")
        start = len(fake.requests)
        ix = await bot.slash(guild, "bob", "klout")
        await _until(lambda: bot.adapter.commands.images.failed == 1)
        assert ix.callbacks[0]["data"]["embeds"][0]["title"].startswith("Bob: ")
        assert not any(r.method == "PATCH" and ix.token in r.path for r in fake.requests[start:])
        assert "BrokenProcessPool" in caplog.text and "the text answer stands" in caplog.text

        start = len(fake.requests)
        ix = await bot.slash(guild, "cy", "klout")  # a fresh pool draws again
        _, image = await image_edit(bot, ix, start)
        assert image.size == CARD_SIZE


async def test_kloutadmin_cards_off_means_text_only(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    mod_role = fake.add_role(guild.id, "Mods", permissions=Perms.EVERYONE | (1 << 5))
    guild.member("bob")["roles"].append(mod_role["id"])
    async with discord_bot(fake, tmp_path / "t.db", cards=True) as bot:
        await popular_alice(bot, guild)
        ix = await bot.slash(guild, "alice", "kloutadmin", {"state": "off"}, subcommand="cards")
        assert "Only server admins" in ix.callbacks[0]["data"]["content"]
        ix = await bot.slash(guild, "bob", "kloutadmin", {"state": "off"}, subcommand="cards")
        text = ix.callbacks[0]["data"]["embeds"][0]["description"]
        assert "answer in text only" in text and "Score card images: off" in text
        start = len(fake.requests)
        off = await bot.slash(guild, "alice", "klout")
        assert off.callbacks[0]["data"]["embeds"][0]["title"].startswith("Alice: ")
        await bot.slash(guild, "bob", "kloutadmin", {"state": "on"}, subcommand="cards")
        ix = await bot.slash(guild, "cy", "klout")
        await image_edit(bot, ix, start)  # on again: cy's card has its image...
        # ...and alice's answer, given while off, was never edited.
        assert not any(r.method == "PATCH" and off.token in r.path
                       for r in fake.requests[start:])
        assert bot.app.images.rendered == 1


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition never held")
        await asyncio.sleep(0.01)


async def test_the_weekly_post_gets_its_leaderboard_image_once_posted(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "w.db", cards=True) as bot:
        await five_scored(bot, guild)
        await schedule_due_now(bot, guild)
        await bot.app.leaderboards.tick(bot.clock.now())
        [post] = bot_posts(fake, bot, guild)  # posted once; the image is an edit of it
        [edit] = fake.requests_for(
            "PATCH", rf".*/channels/{guild.channel_id}/messages/{post['id']}")
        [upload] = edit.files
        with Image.open(io.BytesIO(upload["data"])) as image:
            assert image.width == BOARD_WIDTH
        assert edit.json["embeds"][0]["image"]["url"] == "attachment://leaderboard.png"
        assert "Weekly leaderboard" in post["embeds"][0]["title"]
        assert post["attachments"][0]["filename"] == "leaderboard.png"


async def test_a_mention_answer_gets_the_card_of_whom_it_names(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "m.db", cards=True) as bot:
        await popular_alice(bot, guild)
        bob = guild.member("bob")["user"]
        start = len(fake.requests)
        await fake.send_message(guild.id, guild.channel_id, guild.member("ed"),
                                f"<@{bot.bot_id}> what about <@{bob['id']}>?")
        post = await fake.wait_for_request("POST", rf".*/channels/{guild.channel_id}/messages",
                                           start=start)
        assert post.json["embeds"][0]["title"].startswith("Bob: ") and not post.files
        edit = await fake.wait_for_request(
            "PATCH", rf".*/channels/{guild.channel_id}/messages/\d+", start=start)
        [upload] = edit.files
        with Image.open(io.BytesIO(upload["data"])) as image:
            assert image.size == CARD_SIZE
        assert edit.json["embeds"][0]["title"].startswith("Bob: ")
        # Bob's avatar (his default one, by his id), not the asker's.
        assert fake.avatar_requests[-1].startswith(
            f"/embed/avatars/{(int(bob['id']) >> 22) % 6}.png")
