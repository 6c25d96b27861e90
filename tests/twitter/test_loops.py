"""Loop safety: own posts, reposts, bot-to-bot threads and chatty authors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.clock import FixedClock
from tests.twitter.helpers import T0, fake_x, x_bot


async def test_own_posts_and_reposts_are_ignored(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        alice = fake.add_user("alice")
        async with x_bot(tmp_path / "x.db", fake, clock) as bot:
            await bot.poll()
            own = fake.post(fake.bot, "Weekly board is up, ask @KloutBot for yours")
            repost = fake.post(alice, "RT @bob: @KloutBot is fun")
            report = await bot.poll()
            assert report.claimed == 0
            assert fake.replies_to(own) == [] and fake.replies_to(repost) == []


async def test_another_bot_replying_to_our_replies_gets_one_answer(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        echo = fake.add_user("echo_bot")
        async with x_bot(tmp_path / "x.db", fake, clock) as bot:
            await bot.poll()
            start = fake.post(echo, "@KloutBot score me")
            await bot.poll()
            [ours] = bot.bot_replies(start)
            # echo_bot answers whatever replies to it, forever.
            for _ in range(5):
                fake.post(echo, "@KloutBot thanks! what's my score now?", reply_to=ours)
                await bot.poll()
                replies = [p for p in fake.posts_by(fake.bot) if p.in_reply_to_user_id == echo.id]
                ours = replies[-1]
            assert len(fake.posts_by(fake.bot)) == 1
            statuses = await bot.statuses()
            assert sorted(statuses.values()) == ["replied"] + ["skipped"] * 5


async def test_replies_per_author_per_hour_are_capped(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        chatty = fake.add_user("chatty")
        async with x_bot(tmp_path / "x.db", fake, clock, replies_per_author_per_hour=2) as bot:
            await bot.poll()
            asks = [fake.post(chatty, f"@KloutBot again {i}") for i in range(4)]
            await bot.poll()
            answered = [m for m in asks if bot.bot_replies(m)]
            assert answered == asks[:2]
            # An hour later they may ask again.
            clock.advance(timedelta(hours=1))
            later = fake.post(chatty, "@KloutBot one more")
            await bot.poll()
            assert len(bot.bot_replies(later)) == 1
            assert all(len(bot.bot_replies(m)) <= 1 for m in asks)
