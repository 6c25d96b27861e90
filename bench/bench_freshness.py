"""How fresh scores are under live activity, and what that costs the event loop.

    .venv/bin/python bench/bench_freshness.py [--sizes 1000,10000,100000] [--seconds 20]
                                              [--rate 1000] [--after 1.0]

For each community size a store is built once (members, 10 events each over the scoring
window, scored), then the app is opened as `klout-bot run` opens it (KloutApp, the real
clock) and, for --seconds:
  * events arrive at --rate per second (rows through the event writer, as the Discord
    fast lane submits them, in 10 ms slices);
  * 200 members ask for their /klout card at once, every 500 ms (KloutApp.cards, the
    Influence port every platform's /klout and mention use), each request timed from
    the common start;
  * a probe sleeps 1 ms in a loop and records how late it wakes (event loop stalls).
Staleness: for each event, from the moment it was submitted to the moment a rescore
that includes it has written its scores. Run twice per size: with [bot]
fresh_scores_after_s = --after, and with it off (hourly rescore only), so the event loop
figures can be compared. "loop CPU" is the main thread's CPU seconds per wall second.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import KloutApp
from bot.clock import SystemClock
from bot.config import Config
from bot.storage import Storage
from bot.storage.models import EventRow
from commands.types import Person

GUILD = "GUILD"
ASKERS = 200
EVENTS_PER_MEMBER = 10
DAY = 86_400


def pct(samples: list[float], p: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def build(db: Path, members: int, rng: random.Random) -> None:
    async with Storage(db):
        pass  # the schema
    now = int(time.time())
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    conn.execute("INSERT INTO communities (id, platform, external_id, name) "
                 "VALUES (1, 'discord', ?, 'bench')", (GUILD,))
    conn.executemany(
        "INSERT INTO accounts (id, platform, external_id, handle, display_name, opted_out) "
        "VALUES (?, 'discord', ?, ?, ?, 0)",
        ((i, f"u{i}", f"user{i}", f"User {i}") for i in range(1, members + 1)))
    conn.executemany("INSERT INTO members (community_id, account_id, display_name, last_seen) "
                     "VALUES (1, ?, ?, 0)", ((i, f"User {i}") for i in range(1, members + 1)))
    conn.executemany(
        "INSERT INTO events (community_id, kind, actor_id, target_id, ts, channel, source, "
        "weight) VALUES (1, ?, ?, ?, ?, 'c', ?, 1.0)",
        ((rng.choice((1, 2, 3)), rng.randint(1, members), rng.randint(1, members),
          now - rng.randint(60, 60 * DAY), f"h{k}")
         for k in range(members * EVENTS_PER_MEMBER)))
    conn.execute("COMMIT")
    conn.close()
    async with KloutApp(Config(), clock=SystemClock(), db_path=db) as app:
        await app.rescore_community("discord", GUILD)


def config(db: Path, after_s: float) -> Config:
    base = Config()
    bot = dataclasses.replace(base.bot, fresh_scores_after_s=after_s)
    return base.with_overrides(bot=bot, storage=dataclasses.replace(base.storage,
                                                                    path=str(db)))


async def measure(db: Path, members: int, seconds: float, rate: int, after_s: float,
                  rng: random.Random) -> dict[str, float]:
    app = KloutApp(config(db, after_s), clock=SystemClock(), db_path=db)
    async with app:
        # As the Discord adapter does once connected (`klout-bot run`, _ready): a full
        # collection walking the start-up heap paused a burst here ~27 ms.
        gc.collect()
        gc.freeze()
        comm = await app.store.communities.ensure("discord", GUILD)
        askers = [Person("discord", f"u{i}", f"User {i}")
                  for i in rng.sample(range(1, members + 1), ASKERS)]
        for person in askers:  # warm: kept cards, as members who asked before
            await app.cards.card("discord", GUILD, person, app.clock.now())
        submitted: list[float] = []  # live event number -> when it was submitted
        covered = [0]  # live events 1..covered[0] are in the stored scores
        staleness: list[float] = []
        stop = asyncio.Event()

        async def rescored(_result: object) -> None:
            done = time.monotonic()
            state = await app.store.scores.rescore_state(comm.id)
            if state is None:
                return
            row = await app.store.db.fetchone(
                "SELECT source FROM events WHERE id = ?", (state[1],))
            if row is None or not str(row[0]).startswith("live-"):
                return
            upto = int(str(row[0])[5:])
            staleness.extend(done - submitted[i - 1] for i in range(covered[0] + 1, upto + 1))
            covered[0] = max(covered[0], upto)

        app.rescorer.listeners.append(rescored)

        async def produce() -> None:
            per_slice = max(1, rate // 100)
            kinds = (1, 2, 3)
            while not stop.is_set():
                now = int(time.time())
                rows = []
                for _ in range(per_slice):
                    submitted.append(time.monotonic())
                    rows.append(EventRow(comm.id, rng.choice(kinds), rng.randint(1, members),
                                         rng.randint(1, members), now, "c",
                                         f"live-{len(submitted)}", 1.0))
                app.writer.submit(rows)
                await asyncio.sleep(0.01)

        lags: list[float] = []

        async def probe() -> None:
            while not stop.is_set():
                started = time.perf_counter()
                await asyncio.sleep(0.001)
                lags.append(time.perf_counter() - started - 0.001)

        klout: list[float] = []

        async def ask() -> None:
            while not stop.is_set():
                started = time.perf_counter()

                async def one(person: Person, started: float = started) -> None:
                    await app.cards.card("discord", GUILD, person, app.clock.now())
                    klout.append(time.perf_counter() - started)

                await asyncio.gather(*(one(p) for p in askers))
                await asyncio.sleep(0.5)

        tasks = [asyncio.create_task(work()) for work in (produce, probe, ask)]
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*tasks)
        cpu = time.thread_time() - cpu0
        wall = time.perf_counter() - wall0
        rescores = app.freshness.rescores
        hits, misses = app.cards.hits, app.cards.misses
        # The events still uncovered at the end count as stale as they are by now.
        end = time.monotonic()
        tail = [end - t for t in submitted[covered[0]:]]
    gc.unfreeze()
    return {
        "rescores": rescores, "cold": misses / max(1, hits + misses),
        "events": len(submitted),
        "stale_p50": pct(staleness, 50), "stale_p99": pct(staleness, 99),
        "stale_max": max(staleness + tail) if staleness or tail else float("nan"),
        "uncovered": len(tail),
        "klout_p50_ms": pct(klout, 50) * 1000, "klout_p99_ms": pct(klout, 99) * 1000,
        "klout_max_ms": max(klout) * 1000 if klout else float("nan"),
        "lag_p99_ms": pct(lags, 99) * 1000, "lag_max_ms": max(lags) * 1000,
        "loop_cpu": cpu / wall,
        "rescore_s": statistics.mean(app.freshness.lags) if app.freshness.lags else 0.0,
    }


def line(size: int, mode: str, r: dict[str, float]) -> str:
    return (f"{size:>7} {mode:>5} {r['events']:>7.0f} {r['rescores']:>4.0f}  "
            f"{r['stale_p50']:6.2f} {r['stale_p99']:6.2f} {r['stale_max']:6.2f}  "
            f"{r['klout_p50_ms']:6.2f} {r['klout_p99_ms']:6.2f} {r['klout_max_ms']:7.2f}  "
            f"{r['lag_p99_ms']:6.2f} {r['lag_max_ms']:7.2f}  {r['loop_cpu']:5.2f}  "
            f"{r['cold']:6.1%}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=int, default=1000, help="events per second")
    parser.add_argument("--after", type=float, default=Config().bot.fresh_scores_after_s,
                        help="[bot] fresh_scores_after_s")
    args = parser.parse_args()
    rng = random.Random(13)
    print(f"{args.rate} events/s for {args.seconds:g} s; {ASKERS} concurrent /klout cards "
          f"every 0.5 s; fresh_scores_after_s = {args.after:g}")
    print(f"{'members':>7} {'fresh':>5} {'events':>7} {'resc':>4}  "
          f"{'stale p50/p99/max s':>20}  {'/klout p50/p99/max ms':>21}  "
          f"{'loop lag p99/max ms':>14}  {'loop CPU':>5}  {'cold':>6}")
    with tempfile.TemporaryDirectory() as folder:
        for size in (int(s) for s in args.sizes.split(",")):
            db = Path(folder) / f"fresh-{size}.db"
            await build(db, size, rng)
            for mode, after in (("on", args.after), ("off", 0.0)):
                result = await measure(db, size, args.seconds, args.rate, after, rng)
                print(line(size, mode, result), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
