"""X mentions go through the shared command cooldowns (app.limiter), end to end."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.clock import FixedClock
from tests.twitter.helpers import T0, fake_x, x_bot


async def test_a_burst_of_mentions_meets_the_shared_cooldown(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        ana = fake.add_user("ana_x", followers_count=50)
        bo = fake.add_user("bo_x", followers_count=50)
        async with x_bot(tmp_path / "x.db", fake, clock) as bot:
            await bot.poll()
            burst = []
            for _ in range(4):  # four questions in one second
                burst.append(fake.post(ana, "@KloutBot me?"))
            clock.advance(timedelta(seconds=1))
            clock.advance(timedelta(seconds=10))
            calm = fake.post(ana, "@KloutBot me, now?")
            # bo's two questions a minute apart reach the bot in the same poll (a
            # backlog): both are answered, the cooldown is timed by when they were posted.
            backlog = [fake.post(bo, "@KloutBot me?")]
            clock.advance(timedelta(seconds=60))
            backlog.append(fake.post(bo, "@KloutBot me again?"))
            report = await bot.poll()

            first, second, third, fourth = (bot.bot_replies(m) for m in burst)
            # Two at once are fine ([limits] user_burst); the third waits for a token.
            assert len(first) == 1 and "/100" in first[0].text
            assert len(second) == 1 and "/100" in second[0].text
            assert len(third) == 1 and "try again in 3 s" in third[0].text
            assert fourth == []  # the second refusal in one wait is quiet
            [later] = bot.bot_replies(calm)
            assert "/100" in later.text
            assert all("/100" in r.text for m in backlog for r in bot.bot_replies(m))
            assert all(len(bot.bot_replies(m)) == 1 for m in backlog)
            assert (report.replied, report.skipped) == (6, 1)
            row = await bot.adapter.repo.get(burst[3].id)
            assert row is not None and row.status == "skipped"
            assert row.detail == "quiet errors/cooldown"
            # Skipped for good: later polls do not answer it.
            await bot.poll()
            assert bot.bot_replies(burst[3]) == []
