"""Card images on X replies ([twitter] card_images): real tweepy and our upload call
against the fake X's POST /2/media/upload, images drawn in the real render pool."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
import tweepy

from bot.adapters.x_media import upload_image
from bot.adapters.x_transport import close_client, make_async_client
from bot.clock import FixedClock
from bot.config import Config, ConfigError, load_config
from tests.fakes.x_fake import FakePost, FakeUser, FakeX
from tests.twitter.helpers import T0, XBot, fake_x, x_bot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def scored_user(fake: FakeX) -> FakeUser:
    alice = fake.add_user("alice_x", followers_count=900, listed_count=4)
    for i in range(6):
        fake.post(alice, f"post {i}", like_count=12, retweet_count=2)
    return alice


async def ask(bot: XBot, who: FakeUser, text: str = "@KloutBot what's my klout?"
              ) -> tuple[FakePost, FakePost]:
    mention = bot.fake.post(who, text)
    await bot.poll()
    replies = bot.bot_replies(mention)
    assert len(replies) == 1, replies
    return mention, replies[0]


async def test_reply_carries_the_card_when_on(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        alice = scored_user(fake)
        async with x_bot(tmp_path / "x.db", fake, clock, card_images=True) as bot:
            await bot.poll()
            _, reply = await ask(bot, alice)
            assert "/100" in reply.text
            [media_id] = reply.media_ids
            media = fake.media[media_id]
            assert media.data.startswith(PNG_MAGIC) and media.category == "tweet_image"
            assert media.owner_id == fake.bot.id and media.used_by == [reply.id]
            # Billed as the fake bills it, and counted by the bot the same way.
            assert fake.ledger.counts["media_upload"] == 1
            report = await bot.adapter.spend.report()
            assert report.today.get("media_upload") == 1
            assert report.today_usd == fake.ledger.total_usd
            assert bot.adapter.images.attached == 1


async def test_off_by_default_is_text_only(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        alice = scored_user(fake)
        async with x_bot(tmp_path / "x.db", fake, clock) as bot:
            await bot.poll()
            _, reply = await ask(bot, alice)
            assert reply.media_ids == [] and "/100" in reply.text
            assert fake.requests_to("POST", r"^/2/media/upload$") == []
            assert bot.app.images.rendered == 0  # nothing drawn either


async def test_budget_for_the_reply_but_not_the_image_sends_text(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        alice = scored_user(fake)
        # Upload priced so that the reply fits today's budget but reply + upload do not.
        async with x_bot(tmp_path / "x.db", fake, clock, card_images=True,
                         daily_budget_usd=0.5, media_upload_usd=0.495) as bot:
            await bot.poll()
            caplog.set_level(logging.WARNING, logger="bot.adapters.x_images")
            mention, reply = await ask(bot, alice)
            assert reply.media_ids == [] and "/100" in reply.text
            assert fake.requests_to("POST", r"^/2/media/upload$") == []
            assert (await bot.statuses())[mention.id] == "replied"
            assert any("goes as text" in r.message and "budget" in r.message
                       and mention.id in r.message for r in caplog.records)


@pytest.mark.parametrize(("fault", "cause"), [
    ({"status": 503}, "X answered 503"),
    ({"status": 400, "body": {"title": "Invalid Request", "detail": "bad media",
                              "type": "about:blank", "status": 400}}, "X answered 400: bad media"),
])
async def test_upload_failure_sends_text_and_names_the_cause(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, fault: dict[str, object],
        cause: str) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        alice = scored_user(fake)
        async with x_bot(tmp_path / "x.db", fake, clock, card_images=True) as bot:
            await bot.poll()
            fake.inject(r"^/2/media/upload$", **fault)  # type: ignore[arg-type]
            caplog.set_level(logging.WARNING, logger="bot.adapters.x_images")
            mention, reply = await ask(bot, alice)
            assert reply.media_ids == []
            assert len(fake.requests_to("POST", r"^/2/media/upload$")) == 1  # never retried
            assert fake.ledger.counts["media_upload"] == 0
            [line] = [r.message for r in caplog.records if mention.id in r.message]
            assert "upload failed" in line and cause in line


async def test_too_large_image_is_refused_with_413_and_the_reply_goes(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock, image_max_bytes=1_000) as fake:
        alice = scored_user(fake)
        async with x_bot(tmp_path / "x.db", fake, clock, card_images=True) as bot:
            await bot.poll()
            caplog.set_level(logging.WARNING, logger="bot.adapters.x_images")
            mention, reply = await ask(bot, alice)
            assert reply.media_ids == []
            [line] = [r.message for r in caplog.records if mention.id in r.message]
            assert "X answered 413" in line and "exceeds 1000 bytes" in line


async def test_rate_limited_upload_waits_for_the_reset(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        alice = scored_user(fake)
        bob = fake.add_user("bob_x", followers_count=300)
        carol = fake.add_user("carol_x", followers_count=300)
        fake.set_rate_limit("POST /2/media/upload", 1)
        async with x_bot(tmp_path / "x.db", fake, clock, card_images=True) as bot:
            await bot.poll()
            _, first = await ask(bot, alice)
            assert len(first.media_ids) == 1
            caplog.set_level(logging.WARNING, logger="bot.adapters.x_images")
            mention, second = await ask(bot, bob)  # the window's one upload is used
            assert second.media_ids == []
            [line] = [r.message for r in caplog.records if mention.id in r.message]
            assert "rate limited (429) until" in line
            until = bot.adapter.images.limited_until
            assert until is not None and until > clock.now()
            uploads = len(fake.requests_to("POST", r"^/2/media/upload$"))
            _, third = await ask(bot, carol)  # before the reset: not even tried
            assert third.media_ids == []
            assert len(fake.requests_to("POST", r"^/2/media/upload$")) == uploads
            clock.set(until)
            _, fourth = await ask(bot, alice, "@KloutBot and again?")
            assert len(fourth.media_ids) == 1


async def test_expired_media_id_falls_back_to_text(tmp_path: Path) -> None:
    """X refusing the attachment (400 invalid media ids) still posts the reply."""
    clock = FixedClock(T0)
    async with fake_x(clock, media_expires_after_s=0) as fake:
        alice = scored_user(fake)
        async with x_bot(tmp_path / "x.db", fake, clock, card_images=True) as bot:
            await bot.poll()
            mention, reply = await ask(bot, alice)
            assert reply.media_ids == [] and "/100" in reply.text
            assert (await bot.statuses())[mention.id] == "replied"
            refused = [r for r in fake.requests_to("POST", r"^/2/tweets$")
                       if isinstance(r.json, dict) and "media" in r.json]
            assert len(refused) == 1 and refused[0].status == 400


async def test_crash_after_upload_posts_once_after_restart(tmp_path: Path) -> None:
    """The upload committed but the bot died before the tweet: the restarted bot uploads
    again and posts one reply, with the image."""
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        alice = scored_user(fake)
        db = tmp_path / "x.db"
        async with x_bot(db, fake, clock, card_images=True) as bot:
            await bot.poll()
        mention = fake.post(alice, "@KloutBot what's my klout?")
        # The first process: its upload is stored and billed by X, then the process dies
        # (the poll is abandoned while it waits on the upload's response).
        fake.inject(r"^/2/media/upload$", delay=30.0, after_commit=True)
        async with x_bot(db, fake, clock, card_images=True) as bot:
            poll = asyncio.create_task(bot.adapter.poll_once())
            await fake.wait_for_request("POST", r"^/2/media/upload$", timeout=20.0)
            poll.cancel()
            with pytest.raises(asyncio.CancelledError):
                await poll
            assert bot.bot_replies(mention) == []
            assert (await bot.statuses())[mention.id] == "claimed"
        fake.clear_faults()
        async with x_bot(db, fake, clock, card_images=True) as bot:
            await bot.poll()
            await bot.poll()
            [reply] = bot.bot_replies(mention)
            assert len(reply.media_ids) == 1
            assert len(fake.media) == 2 and fake.ledger.counts["media_upload"] == 2
            assert fake.media[reply.media_ids[0]].used_by == [reply.id]
            assert len(fake.requests_to("POST", r"^/2/tweets$")) == 1
            assert (await bot.statuses())[mention.id] == "replied"
            assert fake.ledger.counts["reply_create"] == 1


@pytest.mark.parametrize(("line", "expected"), [
    ("card_images = \"yes\"", "twitter.card_images"),
    ("media_upload_usd = -1", "twitter.media_upload_usd"),
])
def test_config_keys_are_validated(tmp_path: Path, line: str, expected: str) -> None:
    path = tmp_path / "klout.toml"
    path.write_text(f"[twitter]\n{line}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert expected in str(err.value) and str(path) in str(err.value)


def test_config_turns_images_on_with_a_price(tmp_path: Path) -> None:
    path = tmp_path / "klout.toml"
    path.write_text("[twitter]\ncard_images = true\nmedia_upload_usd = 0.02\n",
                    encoding="utf-8")
    twitter = load_config(path).twitter
    assert twitter.card_images is True and twitter.media_upload_usd == 0.02
    assert Config().twitter.card_images is False  # off by default


async def test_upload_call_against_the_fake_refuses_bytes_that_are_not_an_image() -> None:
    async with FakeX() as fake:
        client = make_async_client(fake.api_base, **fake.credentials())
        try:
            with pytest.raises(tweepy.BadRequest) as err:
                await upload_image(client, b"not a picture at all")
            assert "media type unrecognized" in str(err.value)
            data = await upload_image(client, PNG_MAGIC + b"\0" * 64)
            assert data["id"] in fake.media and data["media_key"].startswith("3_")
        finally:
            await close_client(client)
