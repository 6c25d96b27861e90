"""Real processes, really killed (SIGKILL) in the middle of posting, then restarted on
the same SQLite file: every part of the week's post appears exactly once. Also
`klout-bot run` itself, posting a missed week at startup and not again after a restart."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import LeaderboardEntry
from bot.leaderboards.post import find_marker
from bot.leaderboards.schedule import WEEKDAYS
from tests.leaderboards.helpers import (
    CHANNEL,
    add_destination,
    console_posts,
    running_bot,
    seed_scores,
    utc,
)

REPO = Path(__file__).resolve().parents[2]
MONDAY = utc(2026, 3, 16, 8, 0)
LONG = {f"member_{i:02d}_" + "x" * 50: 90 - i for i in range(30)}
TIMEOUT_S = 60


async def read_until(stream: asyncio.StreamReader, needle: str) -> list[str]:
    lines = []
    while True:
        raw = await asyncio.wait_for(stream.readline(), TIMEOUT_S)
        if not raw:
            raise AssertionError(f"process ended before printing {needle!r}: {lines}")
        lines.append(raw.decode())
        if needle in lines[-1]:
            return lines


@pytest.mark.parametrize("step", ["claimed", "sent:1", "mark"])
async def test_sigkill_mid_post_then_restart_posts_each_part_once(tmp_path: Path,
                                                                   step: str) -> None:
    db = tmp_path / "kill.db"
    async with running_bot(db, MONDAY) as (app, _, _):
        await seed_scores(app, LONG, MONDAY - timedelta(hours=1))
        dest = await add_destination(app, since=MONDAY - timedelta(days=30), top=30)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.leaderboards.crash_child", str(db), step,
        (MONDAY + timedelta(minutes=1)).isoformat(), cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    assert child.stdout is not None
    try:
        await read_until(child.stdout, f"AT {step}")
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    assert child.returncode == -signal.SIGKILL
    async with running_bot(db, MONDAY + timedelta(minutes=5)) as (app, clock, _):
        await app.leaderboards.tick(clock.now())
        await app.leaderboards.tick(clock.now() + timedelta(hours=2))
        markers = sorted(find_marker(t) for t in await console_posts(app))  # type: ignore[type-var]
        assert markers == [("2026-03-16", 1, 2), ("2026-03-16", 2, 2)]
        row = await app.store.leaderboards.post_row(dest.id, "2026-03-16")
        assert row is not None and row.state == "posted"


async def run_bot(config: Path, db: Path) -> str:
    """`klout-bot run` with the console adapter, until its startup sweep is done; then
    stdin closes (the console's EOF) and the bot shuts down cleanly."""
    bot = await asyncio.create_subprocess_exec(
        str(REPO / ".venv" / "bin" / "klout-bot"), "--config", str(config), "run",
        "--db", str(db), cwd=REPO, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert bot.stdin is not None and bot.stdout is not None
    try:
        lines = await read_until(bot.stdout, "startup sweep done")
    finally:
        bot.stdin.close()
        rest = await asyncio.wait_for(bot.stdout.read(), TIMEOUT_S)
        await asyncio.wait_for(bot.wait(), TIMEOUT_S)
    assert bot.returncode == 0, "".join(lines) + rest.decode()
    return "".join(lines) + rest.decode()


async def test_klout_bot_run_catches_up_a_missed_week_once(tmp_path: Path) -> None:
    # The real clock: the slot was two hours ago, while the bot was down.
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    slot = now - timedelta(hours=2)
    entry = LeaderboardEntry(platform="console", channel=CHANNEL, community="test",
                             weekday=WEEKDAYS[slot.weekday()],  # type: ignore[arg-type]
                             time=slot.strftime("%H:%M"), timezone="UTC", top=5)
    config = tmp_path / "config.toml"
    config.write_text(
        '[bot]\nadapters = ["console"]\nlog_level = "INFO"\n[console]\ncommunity = "test"\n'
        f'[[leaderboard]]\nplatform = "console"\nchannel = "{entry.channel}"\n'
        f'community = "test"\nweekday = "{entry.weekday}"\ntime = "{entry.time}"\n'
        'timezone = "UTC"\ntop = 5\n', encoding="utf-8")
    db = tmp_path / "run.db"
    async with running_bot(db, now - timedelta(days=3)) as (app, clock, _):
        await seed_scores(app, {"ana": 50, "bo": 40, "cy": 30}, now - timedelta(hours=3))
        await app.leaderboards.sync_config([entry], clock.now())  # set up days ago
    first = await run_bot(config, db)
    assert f"[{CHANNEL}] Weekly leaderboard" in first and "Posted late" in first
    assert "1 posted" in first
    second = await run_bot(config, db)  # a restart: nothing to post again
    assert "Weekly leaderboard" not in second and "1 done" in second
    async with running_bot(db, now) as (app, _, _):
        assert len(await console_posts(app)) == 1
