"""Score-card images: render time and memory, and /klout under a burst with images on.

    .venv/bin/python bench/bench_card_images.py            # both
    .venv/bin/python bench/bench_card_images.py render     # render time, cache, RSS
    .venv/bin/python bench/bench_card_images.py burst      # /klout burst of 200, images off/on

render: `--cards` different cards (names in six scripts, trends, an avatar) drawn
  in one process after a first one (warm), then the first card of fresh worker
  processes (cold: the process start, imports and fonts included, as after a restart),
  a cache hit through CardImages, and the resident memory of a render worker.
burst: bench_discord.py's /klout harness (the real bot against the fake in a child
  process) with [cards] on: 200 members ask at once, as a cold round (render pool
  not started, caches empty) then warm rounds. Printed: bot-side time to the text
  answer (what Discord's 3 s deadline applies to), and the fake's time from its
  frame to the image edited in. Every round starts with the card and image caches
  empty, so each draws 200 images. The fake's members have Discord's default avatars
  (six pictures), so avatars come from the fetcher's cache after the first few.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cards import pct  # percentile in ms, as the other card bench prints

from bot.cards.draw import CardSpec, render_card
from bot.cards.service import CardImages
from bot.config import CardsSection
from tests.cards.references import NAMES, avatar_png


def specs(count: int) -> list[CardSpec]:
    rng = random.Random(7)
    names = list(NAMES.values())
    avatar = avatar_png()
    return [CardSpec(
        name=f"{names[i % len(names)]} {i}", score=str(rng.randint(1, 99)),
        change=f"+{rng.randint(0, 9)} this week", change_sign=1,
        tier_line=f"Tier: regular · rank #{i + 1} of {count}",
        why="Why: many different people respond.", trend_label="Last 8 weeks",
        trend=tuple(rng.randint(0, 99) for _ in range(8)), contributors_label="Driven most by",
        contributors=(f"{names[(i + 1) % 6]} (30%)", "Bob (20%)"),
        footer="Score model 3 · how scores work: /help",
        avatar=avatar if i % 2 else None) for i in range(count)]


def line(samples: list[float]) -> str:
    return (f"p50 {pct(samples, 50):.1f} ms, p99 {pct(samples, 99):.1f} ms, "
            f"max {max(samples) * 1000:.1f} ms (n={len(samples)})")


def _timed(spec: CardSpec) -> tuple[float, int]:
    started = time.perf_counter()
    png = render_card(spec)
    return time.perf_counter() - started, len(png)


def _rss_kb() -> int:
    for row in Path("/proc/self/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1])
    return 0


async def bench_render(count: int, colds: int) -> None:
    cards = specs(count)
    render_card(cards[0])  # fonts and faces loaded: what a worker's initializer does
    warm = [_timed(c) for c in cards]
    sizes = [s for _, s in warm]
    print(f"render, warm, in one process: {line([t for t, _ in warm])}; "
          f"PNG {statistics.mean(sizes) / 1024:.0f} KB on average")
    cold = []
    context = multiprocessing.get_context("forkserver")
    for i in range(colds):
        started = time.perf_counter()
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            await asyncio.get_running_loop().run_in_executor(pool, render_card, cards[i])
        cold.append(time.perf_counter() - started)
    print(f"render, cold (fresh worker: start, imports, fonts, first card): {line(cold)}")
    images = CardImages(CardsSection(workers=1))
    try:
        await images.card(cards[0])
        through = []
        for c in cards[1:]:
            started = time.perf_counter()
            await images.card(c)
            through.append(time.perf_counter() - started)
        print(f"through the pool (pickling, one worker, event loop wait): {line(through)}")
        hits = []
        for _ in range(10_000):
            started = time.perf_counter()
            await images.card(cards[1])
            hits.append(time.perf_counter() - started)
        print(f"cache hit: p50 {pct(hits, 50) * 1000:.1f} us, p99 {pct(hits, 99) * 1000:.1f} us")
        pool = images._executor()
        worker_rss = await asyncio.get_running_loop().run_in_executor(pool, _rss_kb)
        print(f"RSS of a render worker after {count} cards: {worker_rss / 1024:.0f} MB; "
              f"per card in the cache: the PNG's size (cache_size cards at most)")
    finally:
        await images.close()


async def bench_burst(users: int, concurrency: int, rounds: int, *, images: bool) -> None:
    import bench_discord as bd

    from bot.adapters.discord import DiscordAdapter
    from bot.app import KloutApp
    from bot.clock import FixedClock

    fake = bd.FakeProcess()
    try:
        [(guild_id, channel_id, askers)] = fake.call("guilds", 1, concurrency)
        fake.call("keep")  # the images are edited in after the text answers
        now = datetime.now(UTC) + timedelta(hours=1)
        with tempfile.TemporaryDirectory() as folder:
            db = Path(folder) / "klout.db"
            await bd._migrate(db)
            bd.build_store(db, users, askers, now, random.Random(11))
            sqlite3.connect(db).execute(
                "UPDATE communities SET external_id = ? WHERE id = 1", (str(guild_id),)
            ).connection.commit()
            probe = bd.Probe()
            config = bd.bot_config(fake, db, cards=images)
            async with KloutApp(config, clock=FixedClock(now), db_path=db) as app:
                adapter = DiscordAdapter(app, token=fake.token, reidentify_pause=False,
                                         freeze_heap=True)
                runner = await bd.connected(adapter)
                probe.install(adapter)
                burst = ("burst", guild_id, channel_id, askers)
                try:
                    for label in ["cold", *["warm"] * rounds]:
                        phase = await bd.run_phase(probe, fake, *burst, count=len(askers))
                        print(f"burst of {concurrency} /klout, images {'on' if images else 'off'}"
                              f", {label}: text answer bot-side {line(phase.wall)}; "
                              f"{phase.answered} answered")
                        if images:
                            edits: list[float] = await asyncio.to_thread(
                                fake.call, "edits", len(askers), 120.0)
                            print(f"  frame -> image edited in: {line(edits)}; "
                                  f"{len(edits)} images")
                        # Every card and image built again, as after a rescore.
                        app.cards.clear()
                        app.images.forget()
                    print(f"  renders {app.images.rendered}, image cache hits {app.images.hits}, "
                          f"mean render through the pool "
                          f"{app.images.render_s / max(1, app.images.rendered) * 1000:.1f} ms; "
                          f"avatars fetched {app.images.avatars.fetched}, "
                          f"from cache {app.images.avatars.hits}")
                finally:
                    await adapter.close()
                    await asyncio.wait_for(runner, 30)
    finally:
        fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("which", nargs="?", default="all", choices=("all", "render", "burst"))
    parser.add_argument("--cards", type=int, default=300)
    parser.add_argument("--colds", type=int, default=5)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--images", choices=("on", "off", "both"), default="both",
                        help="burst with images on, off (the same harness, to compare), or both")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    if args.which in ("all", "render"):
        asyncio.run(bench_render(args.cards, args.colds))
    if args.which in ("all", "burst"):
        for images in ("off", "on") if args.images == "both" else (args.images,):
            asyncio.run(bench_burst(args.users, args.concurrency, args.rounds,
                                    images=images == "on"))


if __name__ == "__main__":
    main()
