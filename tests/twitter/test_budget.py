"""Spending: counted like X bills, capped before a call could cross a budget."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.cli import main
from bot.cli_twitter import status_text
from bot.clock import FixedClock
from bot.config import load_config
from tests.fakes.x_fake import REPLY_TARGET_GONE
from tests.twitter.helpers import T0, fake_x, x_bot


async def test_own_accounting_matches_what_x_bills(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        people = [fake.add_user(f"user{i}", followers_count=10 * i) for i in range(5)]
        star = fake.add_user("star", followers_count=50_000)
        for person in [*people, star]:
            for i in range(6):
                fake.post(person, f"note {i}", like_count=4)
        async with x_bot(tmp_path / "x.db", fake, clock, replies_per_author_per_hour=10) as bot:
            await bot.poll()
            for round_ in range(3):
                for person in people:
                    fake.post(person, f"@KloutBot me? {round_}")
                fake.post(people[0], f"@KloutBot what about @star {round_}")
                fake.post(people[1], f"@KloutBot and @user4 {round_}")
                await bot.poll()
            report = await bot.adapter.spend.report()
            assert report.today == {k: v for k, v in fake.ledger.counts.items() if v}
            assert report.today_usd == fake.ledger.total_usd
            assert sum(len(bot.bot_replies(m)) for m in fake.mentions_of(fake.bot)) == 21


async def test_daily_cap_answers_from_cache_then_pauses_until_the_next_day(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        people = [fake.add_user(f"p{i}", followers_count=100) for i in range(6)]
        for person in people:
            for i in range(5):
                fake.post(person, f"hello {i}", like_count=2)
        async with x_bot(tmp_path / "x.db", fake, clock, daily_budget_usd=0.15) as bot:
            await bot.poll()
            asks = [fake.post(p, "@KloutBot score?") for p in people]
            with caplog.at_level(logging.INFO):
                report = await bot.poll()
            day1 = T0.date()
            assert report.paused
            answered = [m for m in asks if bot.bot_replies(m)]
            assert 0 < len(answered) < len(asks)
            assert fake.ledger.total_for(day1) <= Decimal("0.15")
            assert (await bot.adapter.spend.report()).today_usd == fake.ledger.total_for(day1)
            messages = " ".join(r.getMessage() for r in caplog.records)
            assert "daily X budget $0.15 reached" in messages and "paused" in messages
            assert "estimating with no sample" in messages  # answered from what it had

            # Paused: more polls the same day make no requests at all.
            seen = len(fake.requests)
            for _ in range(3):
                assert (await bot.poll(advance_s=600)).paused
            assert len(fake.requests) == seen

            clock.set(clock.now().replace(hour=0, minute=5) + timedelta(days=1))
            await bot.poll()
            assert all(len(bot.bot_replies(m)) == 1 for m in asks)
            assert fake.ledger.total_for(day1 + timedelta(days=1)) <= Decimal("0.15")


async def test_usage_cap_from_x_pauses_the_bot(tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        alice = fake.add_user("alice")
        async with x_bot(tmp_path / "x.db", fake, clock) as bot:
            await bot.poll()
            mention = fake.post(alice, "@KloutBot hi")
            fake.inject(r"/mentions$", 429, usage_cap=True)
            with caplog.at_level(logging.WARNING):
                report = await bot.poll()
            assert report.paused and bot.bot_replies(mention) == []
            assert any("X usage cap reached" in r.getMessage() for r in caplog.records)
            assert (await bot.poll(advance_s=30 * 60)).paused
            clock.advance(timedelta(minutes=31))
            await bot.poll()
            assert len(bot.bot_replies(mention)) == 1


async def test_429_waits_for_reset_and_5xx_backs_off_without_wall_clock_sleep(
        tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake:
        alice = fake.add_user("alice")
        async with x_bot(tmp_path / "x.db", fake, clock) as bot:
            await bot.poll()
            mention = fake.post(alice, "@KloutBot hi")
            fake.inject(r"^/2/tweets$", 429, method="POST", reset_in=300)
            fake.inject(r"^/2/users/\d+/tweets$", 503)
            await bot.poll()
            assert len(bot.bot_replies(mention)) == 1
            rate_wait, backoff = sorted(bot.sleep.slept, reverse=True)[:2]
            assert 300 <= rate_wait <= 303  # until x-rate-limit-reset, plus jitter
            assert 1 <= backoff <= 3  # first exponential step after a 503, plus jitter
            assert [r.status for r in fake.requests_to("POST", r"^/2/tweets$")] == [429, 201]


def test_status_command_reports_spend_budgets_and_mentions(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "x.db"
    config_file = tmp_path / "c.toml"
    config_file.write_text("[twitter]\ndaily_budget_usd = 2.5\n", encoding="utf-8")

    async def scenario() -> str:
        clock = FixedClock(T0)
        async with fake_x(clock) as fake:
            alice = fake.add_user("alice", followers_count=12)
            async with x_bot(db, fake, clock) as bot:
                await bot.poll()
                fake.post(alice, "@KloutBot hi")
                fake.post(alice, "@KloutBot hello again")
                # X refuses the second reply for good: the post was deleted meanwhile.
                fake.inject(r"^/2/tweets$", 403, method="POST", body={
                    "title": "Forbidden", "status": 403, "type": "about:blank",
                    "detail": REPLY_TARGET_GONE})
                await bot.poll()
                ledger = fake.ledger.total_usd
        text = await status_text(str(db), load_config(config_file), T0)
        assert f"${ledger:.3f}" in text
        return text

    text = asyncio.run(scenario())
    assert "answered 1, pending 0 (outcome unknown 0), failed 1, skipped 0" in text
    assert "reply_create" in text and "owned_read" in text
    assert main(["--config", str(config_file), "status", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "daily $2.50" in out and "monthly $100.00" in out
    assert "Mentions: answered 1" in out
    assert main(["status", "--db", str(tmp_path / "none.db")]) == 1
