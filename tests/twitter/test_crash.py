"""Exactly once across kill -9: a real bot process, killed at the worst moments, restarted.

The process is the real adapter (x_bot_process.py); the moment of the kill is set up by
making the fake X hold a request open, so no crash hook lives in the bot's code.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.storage import Storage
from bot.storage.twitter import TwitterRepository
from tests.fakes.x_fake import FakePost, FakeX

REPO = Path(__file__).resolve().parents[2]
STEP = 20.0  # seconds any one wait may take


@asynccontextmanager
async def bot_process(fake: FakeX, db: Path, log: Path, *extra: str
                      ) -> AsyncIterator[asyncio.subprocess.Process]:
    creds = fake.credentials()
    env = {**os.environ, "X_BEARER_TOKEN": creds["bearer_token"],
           "X_API_KEY": creds["consumer_key"], "X_API_SECRET": creds["consumer_secret"],
           "X_ACCESS_TOKEN": creds["access_token"],
           "X_ACCESS_TOKEN_SECRET": creds["access_token_secret"]}
    with log.open("ab") as sink:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.twitter.x_bot_process", "--db", str(db),
            "--api-base", fake.api_base, "--interval", "0.05", *extra, cwd=REPO, env=env,
            stdout=sink, stderr=sink)
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def kill_9(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGKILL)
    assert await asyncio.wait_for(proc.wait(), STEP) == -signal.SIGKILL


async def posts_seen(fake: FakeX, count: int) -> None:
    """Wait until the fake has received `count` create requests in all."""
    await fake.wait_for_request("POST", r"^/2/tweets$", timeout=STEP, count=count)


async def polls_done(fake: FakeX, more: int) -> None:
    """Wait until the bot has started `more` further mention polls."""
    seen = len(fake.requests_to("GET", r"/mentions$"))
    await fake.wait_for_request("GET", r"/mentions$", timeout=STEP, count=seen + more)


async def row_status(db: Path, post_id: str) -> str | None:
    async with Storage(db) as store:
        row = await TwitterRepository(store.db).get(post_id)
    return None if row is None else row.status


def replies(fake: FakeX, mention: FakePost) -> list[FakePost]:
    return [p for p in fake.replies_to(mention) if p.author_id == fake.bot.id]


@asynccontextmanager
async def started_fake() -> AsyncIterator[FakeX]:
    async with FakeX(bot_username="KloutBot") as fake:
        fake.set_rate_limit("GET /2/users/:id/mentions", 100_000)
        yield fake


async def test_kill_between_claim_and_post(tmp_path: Path) -> None:
    db, log = tmp_path / "x.db", tmp_path / "bot.log"
    async with started_fake() as fake:
        alice = fake.add_user("alice")
        fake.add_user("bob", followers_count=300)
        async with bot_process(fake, db, log) as proc:
            await polls_done(fake, 2)  # past the first run
            fake.inject(r"^/2/users$", delay=60.0)  # the lookup of bob hangs...
            mention = fake.post(alice, "@KloutBot what about @bob?")
            await fake.wait_for_request("GET", r"^/2/users$", timeout=STEP)
            await kill_9(proc)  # ...and the bot dies there: claimed, nothing posted
        assert await row_status(db, mention.id) == "claimed"
        assert replies(fake, mention) == []
        fake.clear_faults()
        async with bot_process(fake, db, log) as proc:
            await posts_seen(fake, 1)
            await polls_done(fake, 3)
            await kill_9(proc)
        assert len(replies(fake, mention)) == 1, log.read_text()
        assert "bob" in replies(fake, mention)[0].text
        assert await row_status(db, mention.id) == "replied"


async def test_kill_after_x_stored_the_reply_but_before_it_was_recorded(tmp_path: Path) -> None:
    db, log = tmp_path / "x.db", tmp_path / "bot.log"
    async with started_fake() as fake:
        alice = fake.add_user("alice")
        async with bot_process(fake, db, log) as proc:
            await polls_done(fake, 2)
            # X commits the reply, then holds the response: the bot never learns the id.
            fake.inject(r"^/2/tweets$", method="POST", delay=60.0, after_commit=True)
            mention = fake.post(alice, "@KloutBot score me")
            await posts_seen(fake, 1)  # stored as it arrived; the response is held
            assert replies(fake, mention)
            await kill_9(proc)
        assert await row_status(db, mention.id) == "posting"
        fake.clear_faults()
        async with bot_process(fake, db, log) as proc:
            await fake.wait_for_request("GET", rf"^/2/users/{fake.bot.id}/tweets$",
                                        timeout=STEP)
            await polls_done(fake, 3)
            await kill_9(proc)
        assert len(replies(fake, mention)) == 1, log.read_text()
        assert await row_status(db, mention.id) == "replied"
        assert len(fake.requests_to("POST", r"^/2/tweets$")) == 1
        async with Storage(db) as store:
            row = await TwitterRepository(store.db).get(mention.id)
        assert row is not None and row.reply_id == replies(fake, mention)[0].id


async def test_kill_while_the_reply_is_in_flight_and_not_stored(tmp_path: Path) -> None:
    db, log = tmp_path / "x.db", tmp_path / "bot.log"
    async with started_fake() as fake:
        alice = fake.add_user("alice")
        async with bot_process(fake, db, log) as proc:
            await polls_done(fake, 2)
            fake.inject(r"^/2/tweets$", method="POST", delay=60.0)  # held before storing
            mention = fake.post(alice, "@KloutBot hi there")
            await fake.wait_for_request("POST", r"^/2/tweets$", timeout=STEP)
            await kill_9(proc)
        assert await row_status(db, mention.id) == "posting"
        assert replies(fake, mention) == []
        fake.clear_faults()
        async with bot_process(fake, db, log) as proc:
            await posts_seen(fake, 2)  # the held attempt, then the retry
            await polls_done(fake, 3)
            await kill_9(proc)
        assert len(replies(fake, mention)) == 1, log.read_text()
        own_checks = fake.requests_to("GET", rf"^/2/users/{fake.bot.id}/tweets$")
        posts = fake.requests_to("POST", r"^/2/tweets$")
        assert own_checks and own_checks[0].at <= posts[-1].at  # checked before re-posting


async def test_kill_between_image_upload_and_post(tmp_path: Path) -> None:
    """[twitter] card_images: X stored (and billed) the upload, the bot died before the
    tweet. The restarted bot uploads again and posts one reply, with the image."""
    db, log = tmp_path / "x.db", tmp_path / "bot.log"
    async with started_fake() as fake:
        alice = fake.add_user("alice", followers_count=300)
        async with bot_process(fake, db, log, "--card-images") as proc:
            await polls_done(fake, 2)
            fake.inject(r"^/2/media/upload$", delay=60.0, after_commit=True)
            mention = fake.post(alice, "@KloutBot score me")
            await fake.wait_for_request("POST", r"^/2/media/upload$", timeout=STEP)
            await kill_9(proc)
        assert await row_status(db, mention.id) == "claimed"
        assert len(fake.media) == 1 and replies(fake, mention) == []
        fake.clear_faults()
        async with bot_process(fake, db, log, "--card-images") as proc:
            await posts_seen(fake, 1)
            await polls_done(fake, 3)
            await kill_9(proc)
        [reply] = replies(fake, mention)
        assert len(reply.media_ids) == 1, log.read_text()
        assert fake.media[reply.media_ids[0]].used_by == [reply.id]
        assert len(fake.media) == 2 and len(fake.requests_to("POST", r"^/2/tweets$")) == 1
        assert await row_status(db, mention.id) == "replied"


async def test_kill_after_x_stored_the_reply_with_its_image(tmp_path: Path) -> None:
    """The tweet with the image was committed, its response never arrived: the restart
    finds it on the bot's timeline and neither uploads nor posts again."""
    db, log = tmp_path / "x.db", tmp_path / "bot.log"
    async with started_fake() as fake:
        alice = fake.add_user("alice", followers_count=300)
        async with bot_process(fake, db, log, "--card-images") as proc:
            await polls_done(fake, 2)
            fake.inject(r"^/2/tweets$", method="POST", delay=60.0, after_commit=True)
            mention = fake.post(alice, "@KloutBot score me")
            await posts_seen(fake, 1)
            await kill_9(proc)
        assert await row_status(db, mention.id) == "posting"
        fake.clear_faults()
        async with bot_process(fake, db, log, "--card-images") as proc:
            await fake.wait_for_request("GET", rf"^/2/users/{fake.bot.id}/tweets$",
                                        timeout=STEP)
            await polls_done(fake, 3)
            await kill_9(proc)
        [reply] = replies(fake, mention)
        assert len(reply.media_ids) == 1, log.read_text()
        assert len(fake.requests_to("POST", r"^/2/tweets$")) == 1
        assert len(fake.requests_to("POST", r"^/2/media/upload$")) == 1
        assert await row_status(db, mention.id) == "replied"
