"""Exactly once under failures: random faults, lost responses, and unknown outcomes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.clock import FixedClock
from tests.twitter.helpers import T0, fake_x, x_bot


async def test_twenty_percent_faults_still_answer_every_mention_exactly_once(
        tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        people = [fake.add_user(f"u{i}", followers_count=5 * i) for i in range(12)]
        for person in people[:4]:
            for i in range(5):
                fake.post(person, f"thoughts {i}", like_count=3)
        async with x_bot(tmp_path / "x.db", fake, clock, replies_per_author_per_hour=100,
                         max_retries=6) as bot:
            await bot.poll()
            fault = fake.inject_random(0.2, seed=7, commit_then_fail=True)
            asks = []
            for wave in range(4):
                for i, person in enumerate(people):
                    target = people[(i + wave + 1) % len(people)]
                    text = (f"@KloutBot what about @{target.username}? {wave}" if i % 2
                            else f"@KloutBot score me {wave}")
                    asks.append(fake.post(person, text))
                await bot.poll(advance_s=300)
            for _ in range(40):
                if all(bot.bot_replies(m) for m in asks):
                    break
                await bot.poll(advance_s=1200)
            fake.clear_faults()
            await bot.poll()  # settle anything still unknown, fault-free
            assert fault.fired >= 15
            labels = {r.fault for r in fake.requests if r.fault}
            assert {"commit-then-503", "commit-then-drop"} & labels
            assert [len(bot.bot_replies(m)) for m in asks] == [1] * len(asks)
            statuses = await bot.statuses()
            assert set(statuses.values()) == {"replied"}
            assert len(fake.posts_by(fake.bot)) == len(asks)
            # Lost responses were re-read the same UTC day (X bills those once), and lost
            # replies were billed when found, so our count is X's bill exactly.
            ours = (await bot.adapter.spend.report()).today
            assert ours == {k: v for k, v in fake.ledger.counts.items() if v}
            assert ours["reply_create"] == len(asks)
            assert clock.now() < T0 + timedelta(hours=23)  # one UTC billing day


async def test_reply_committed_but_response_lost_is_found_not_reposted(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        alice = fake.add_user("alice")
        async with x_bot(tmp_path / "x.db", fake, clock, request_timeout_s=1.0) as bot:
            await bot.poll()
            mention = fake.post(alice, "@KloutBot hi")
            # X stores the reply, then the response never arrives in time.
            fake.inject(r"^/2/tweets$", method="POST", delay=3.0, after_commit=True)
            await bot.poll()
            assert len(bot.bot_replies(mention)) == 1
            assert (await bot.statuses())[mention.id] == "posting"
            report = await bot.poll()
            assert report.settled == 1
            row = await bot.adapter.repo.get(mention.id)
            assert row is not None and row.status == "replied"
            assert row.reply_id == bot.bot_replies(mention)[0].id
            await bot.poll()
            assert len(bot.bot_replies(mention)) == 1
            assert len(fake.requests_to("POST", r"^/2/tweets$")) == 1
            ours = (await bot.adapter.spend.report()).today
            assert ours == {k: v for k, v in fake.ledger.counts.items() if v}


async def test_a_mention_deleted_before_the_reply_fails_once_and_is_not_retried(
        tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        alice = fake.add_user("alice")
        async with x_bot(tmp_path / "x.db", fake, clock) as bot:
            await bot.poll()
            gone = fake.post(alice, "@KloutBot hi")
            original = bot.adapter.api.create

            async def delete_first(text: str, *, in_reply_to: str | None = None,
                                   media_ids: list[str] | None = None) -> str:
                fake.delete(gone)  # deleted between the poll and the reply
                return await original(text, in_reply_to=in_reply_to, media_ids=media_ids)

            bot.adapter.api.create = delete_first  # type: ignore[method-assign]
            report = await bot.poll()
            assert report.failed == 1
            row = await bot.adapter.repo.get(gone.id)
            assert row is not None and row.status == "failed"
            assert "deleted or not visible" in (row.detail or "")
            bot.adapter.api.create = original  # type: ignore[method-assign]
            await bot.poll()
            assert len(fake.requests_to("POST", r"^/2/tweets$")) == 1
