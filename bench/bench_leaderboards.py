"""Weekly leaderboards: how fast the schedule machinery and the post run.

    python bench/bench_leaderboards.py

Prints, over real SQLite files in a temporary folder and the console platform:
- a simulated year of one weekly schedule (Europe/Berlin, both DST changes): a tick
  at every CronTrigger fire time plus a sweep every 12 hours, with a fixed clock;
- one sweep tick over many destinations when nothing is due (the per-minute cost);
- building the week's board (top N, climbers, newcomers) for communities of
  several sizes, and rendering it into Discord and X parts.
"""

from __future__ import annotations

import asyncio
import io
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.adapters.console import ConsoleAdapter
from bot.app import KloutApp
from bot.clock import FixedClock
from bot.config import Config
from bot.leaderboards.board import build_board
from bot.leaderboards.post import render_parts
from bot.leaderboards.poster import schedule_of
from bot.scheduler import cron_trigger

START = datetime(2026, 1, 1, tzinfo=UTC)


async def bot(db: Path) -> tuple[KloutApp, FixedClock]:
    clock = FixedClock(START)
    app = KloutApp(Config(), clock=clock, db_path=db)
    await app.__aenter__()
    ConsoleAdapter(app, user="bench", community="bench", stdin=io.StringIO(),
                   stdout=io.StringIO(), prompt=False)
    return app, clock


async def seed(app: KloutApp, members: int, at: datetime, shift: int = 0) -> None:
    comm = await app.store.communities.ensure("console", "bench", "Bench")
    async with app.store.db.write() as conn:
        for i in range(members):
            await app.store.accounts.upsert_in(conn, "console", f"m{i}", f"member_{i}",
                                               f"m{i}", False, None)
    ids = app.store.accounts._ids  # the ids just written
    rows = [(ids[("console", f"m{i}")], max(1, 99 - (i + shift * (i % 7)) % 99), 0.0, i + 1,
             1.0) for i in range(members)]
    rows.sort(key=lambda r: (-r[1], r[0]))
    rows = [(a, s, raw, rank, g) for rank, (a, s, raw, _, g) in enumerate(rows, start=1)]
    await app.store.scores.replace_all(comm.id, rows, "bench", int(at.timestamp()), 0)


async def year(folder: Path) -> None:
    app, clock = await bot(folder / "year.db")
    try:
        await seed(app, 300, START)
        dest = await app.store.leaderboards.upsert_destination(
            platform="console", community="bench", destination="weekly", weekday=0,
            time="09:00", timezone="Europe/Berlin", top=10, source="bench",
            now=int(START.timestamp()))
        end = START + timedelta(days=365)
        trigger, fire, moments = cron_trigger(schedule_of(dest)), None, set()
        while (fire := trigger.get_next_fire_time(fire, START if fire is None else
                                                  fire + timedelta(seconds=1))) <= end:
            moments.add(fire)
        t = START
        while t <= end:
            moments.add(t)
            t += timedelta(hours=12)
        started = time.perf_counter()
        for moment in sorted(moments):
            clock.set(moment)
            await app.leaderboards.tick(moment)
        took = time.perf_counter() - started
        posts = [p for p in await app.store.leaderboards.posts(dest.id) if p.state == "posted"]
        print(f"simulated year: {len(moments)} ticks, {len(posts)} weekly posts in "
              f"{took * 1000:.0f} ms ({took / len(moments) * 1000:.2f} ms per tick)")
    finally:
        await app.__aexit__(None, None, None)


async def sweep(folder: Path, destinations: int) -> None:
    app, _ = await bot(folder / f"sweep{destinations}.db")
    try:
        await seed(app, 50, START)
        for i in range(destinations):
            await app.store.leaderboards.upsert_destination(
                platform="console", community="bench", destination=f"c{i}", weekday=i % 7,
                time=f"{i % 24:02d}:{i % 60:02d}", timezone="Europe/Berlin", top=10,
                source="bench", now=int(START.timestamp()) + 10 * 86_400)
        now = START + timedelta(days=10, hours=12)
        await app.leaderboards.tick(now)
        runs = 5
        started = time.perf_counter()
        for _ in range(runs):
            await app.leaderboards.tick(now)
        took = (time.perf_counter() - started) / runs
        print(f"sweep tick, {destinations} destinations, nothing due: {took * 1000:.1f} ms")
    finally:
        await app.__aexit__(None, None, None)


async def board(folder: Path, members: int) -> None:
    app, _ = await bot(folder / f"board{members}.db")
    try:
        now = START + timedelta(days=30)
        await seed(app, members, now - timedelta(days=8), shift=0)
        await seed(app, members, now, shift=3)
        started = time.perf_counter()
        weekly = await build_board(app.store, app.influence, "console", "bench", now, 50)
        built = time.perf_counter() - started
        started = time.perf_counter()
        discord = render_parts(weekly, period="2026-01-31", platform="discord",
                               renderer=app.renderer)
        x = render_parts(weekly, period="2026-01-31", platform="twitter",
                         renderer=app.renderer)
        rendered = time.perf_counter() - started
        print(f"board of {members:>6} members, top 50: built in {built * 1000:.0f} ms "
              f"(climbers {len(weekly.climbers)}, newcomers {len(weekly.newcomers)}); "
              f"rendered in {rendered * 1000:.0f} ms into {len(discord)} Discord and "
              f"{len(x)} X parts")
    finally:
        await app.__aexit__(None, None, None)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        await year(folder)
        for n in (10, 1000):
            await sweep(folder, n)
        for members in (300, 10_000, 100_000):
            await board(folder, members)


if __name__ == "__main__":
    asyncio.run(main())
