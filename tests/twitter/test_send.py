"""Standalone posts (the weekly leaderboard): no pings, threads, and finding them again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.adapters.twitter import XPostRefused
from bot.adapters.x_text import weighted_length
from bot.clock import FixedClock
from commands.ports import BoardLine, BoardPage
from commands.types import Reply
from tests.twitter.helpers import T0, fake_x, x_bot


def board() -> BoardPage:
    names = ["@everyone", "ana#1", "世界の王者", "bo_the_builder", "cy"]
    lines = tuple(BoardLine(i + 1, name, 90 - 7 * i, "voice", i - 2)
                  for i, name in enumerate(names))
    return BoardPage(lines, 1, 1, len(lines), "week")


async def test_leaderboard_post_pings_nobody_and_threads(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake, x_bot(tmp_path / "x.db", fake, clock) as bot:
        first = await bot.adapter.send("timeline", Reply("leaderboard", {
            "board": board(), "community": "X"}))
        assert first is not None
        post = fake.posts[first]
        assert post.mentions == [] and "@" not in post.text
        assert "everyone" in post.text and "世界の王者" in post.text
        assert weighted_length(post.text) <= 280
        second = await bot.adapter.send("timeline", Reply("leaderboard", {
            "board": board(), "community": "X", "in_reply_to": first}))
        assert second is not None and fake.posts[second].replied_to_id == first
        # Own posts are found again (how the poster recovers after a crash).
        refs = await bot.adapter.recent_own_posts("timeline", T0 - timedelta(minutes=1))
        assert {r.message_id for r in refs} == {first, second}
        assert refs[0].text == fake.posts[second].text
        assert fake.ledger.counts["post_create"] == 2
        report = await bot.adapter.spend.report()
        assert report.today == {k: v for k, v in fake.ledger.counts.items() if v}


async def test_a_refused_post_raises_for_the_poster(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    async with fake_x(clock) as fake, x_bot(tmp_path / "x.db", fake, clock) as bot:
        fake.inject(r"^/2/tweets$", 403, method="POST")
        with pytest.raises(XPostRefused):
            await bot.adapter.send("timeline", Reply("help", {"bot_name": "KloutBot"}))
