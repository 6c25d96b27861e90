"""Cold /klout score cards, in-process; prints its figures.

    .venv/bin/python bench/bench_cards.py [--store PATH] [--rounds 3]

A store with 1M scored members (bench_discord.build_store: 200 askers with 30 incoming
events each, a week of history) is built once and kept at --store. The app opens it as
`klout-bot run` would, and cards are asked for through KloutApp.cards with the cache
emptied first, so every card is built from storage:
  after start: 200 askers at the same instant in a freshly started app (the first pays
              the community's member count, which the others wait for);
  first:      the first card after start, alone;
  single:     one cold card at a time, each asker in turn;
  burst:      all 200 askers at the same instant, per-request latency from the common
              start, and whether answers came back in the order asked;
  busy burst: the same while the event loop is kept busy by a task that burns CPU in
              1 ms slices (as a bot's loop is, parsing the very interactions that ask):
              a read that hops to another thread then waits for the GIL behind it;
  after a rescore: every asker's card kept, then what a rescore does to them, and a
              burst right away (while cards are built ahead) and once that is done.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_discord import _migrate, build_store

from bot.app import KloutApp
from bot.clock import FixedClock
from bot.config import Config
from bot.services.rescore import RescoreResult
from commands.types import Person

NOW = datetime(2026, 11, 23, 22, tzinfo=UTC)
GUILD = "G"


def askers(count: int) -> list[int]:
    return list(range(10**17, 10**17 + count))


def ensure_store(path: Path, users: int, count: int) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    asyncio.run(_migrate(path))
    build_store(path, users, askers(count), NOW, random.Random(11))
    conn = sqlite3.connect(path)
    conn.execute("UPDATE communities SET external_id = ? WHERE id = 1", (GUILD,))
    conn.commit()
    conn.close()
    print(f"built {users:,} members at {path} in {time.perf_counter() - started:.1f}s")


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def line(samples: list[float]) -> str:
    return (f"first {min(samples) * 1000:.2f} ms  p50 {pct(samples, 50):.2f} ms  "
            f"p99 {pct(samples, 99):.2f} ms  max {max(samples) * 1000:.2f} ms")


async def burn(stop: asyncio.Event, slice_s: float) -> None:
    while not stop.is_set():
        until = time.perf_counter() + slice_s
        while time.perf_counter() < until:
            pass
        await asyncio.sleep(0)


async def burst(app: KloutApp, people: list[Person], busy: bool, keep: bool = False
                ) -> tuple[list[float], int]:
    """Latency of each request from the common start, and how many finished out of the
    order they were asked in."""
    if not keep:
        app.cards.clear()
    stop = asyncio.Event()
    burner = asyncio.create_task(burn(stop, 0.001)) if busy else None
    await asyncio.sleep(0)
    finished: list[int] = []
    started = time.perf_counter()

    async def one(i: int, person: Person) -> float:
        card = await app.cards.card("discord", GUILD, person, NOW)
        if card.status != "scored":
            raise RuntimeError(f"asker {i} got a {card.status} card")
        finished.append(i)
        return time.perf_counter() - started

    walls = list(await asyncio.gather(*(one(i, p) for i, p in enumerate(people))))
    stop.set()
    if burner is not None:
        await burner
    out_of_order = sum(1 for a, b in itertools.pairwise(finished) if b < a)
    return walls, out_of_order


async def run(store: Path, count: int, rounds: int) -> None:
    people = [Person("discord", str(uid), None) for uid in askers(count)]
    config = Config()
    for _ in range(rounds):
        async with KloutApp(config, clock=FixedClock(NOW), db_path=store) as app:
            await app.store.communities.ensure("discord", GUILD)
            walls, disorder = await burst(app, people, busy=False)
            print(f"burst of {count} right after start: {line(walls)}; "
                  f"{disorder} finished out of order")
    async with KloutApp(config, clock=FixedClock(NOW), db_path=store) as app:
        await app.store.communities.ensure("discord", GUILD)
        started = time.perf_counter()
        await app.cards.card("discord", GUILD, people[0], NOW)
        print(f"first card after start: {(time.perf_counter() - started) * 1000:.2f} ms")
        singles = []
        for _ in range(rounds):
            for person in people:
                app.cards.clear()
                started = time.perf_counter()
                await app.cards.card("discord", GUILD, person, NOW)
                singles.append(time.perf_counter() - started)
        print(f"single cold card (n={len(singles)}): median "
              f"{statistics.median(singles) * 1000:.3f} ms  p99 {pct(singles, 99):.3f} ms")
        for busy in (False, True):
            label = "busy burst" if busy else "burst"
            for _ in range(rounds):
                walls, disorder = await burst(app, people, busy)
                print(f"{label} of {count} cold: {line(walls)}; "
                      f"{disorder} finished out of order")
        for _ in range(rounds):
            await after_rescore(app, store, people)
    print(f"load average {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")


async def after_rescore(app: KloutApp, store: Path, people: list[Person]) -> None:
    """Every asker's card kept, then what a rescore does to them: rescore_state moves
    on (so every stamp is stale) and the Rescorer's listeners run. Then a burst at once,
    while the cards are being built ahead, and one once that is done."""
    for person in people:
        await app.cards.card("discord", GUILD, person, NOW)
    for wait in (False, True):
        comm = await app.store.communities.ensure("discord", GUILD)
        conn = sqlite3.connect(store)
        with conn:
            conn.execute("UPDATE rescore_state SET computed_at = computed_at + 1")
        conn.close()
        members = await app.influence.members(comm.id)
        started = time.perf_counter()
        for listener in app.rescorer.listeners:
            await listener(RescoreResult(comm.id, members, 0, 0.0, converged=True))
        if wait:
            await app.card_refresher.settle()
            built = time.perf_counter() - started
        hits = app.cards.hits
        walls, disorder = await burst(app, people, busy=False, keep=True)
        label = (f"once built ahead ({built * 1000:.0f} ms)" if wait
                 else "while building ahead")
        print(f"burst of {len(people)} after a rescore, {label}: {line(walls)}; "
              f"{app.cards.hits - hits} cache hits; {disorder} finished out of order")
        await app.card_refresher.settle()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, default=None,
                        help="where the store is kept between runs (default: in the "
                        "temporary folder, one per --users)")
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--askers", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    store = args.store or (Path(tempfile.gettempdir()) / "klout-cards" /
                           f"store-{args.users}-{args.askers}.db")
    ensure_store(store, args.users, args.askers)
    asyncio.run(run(store, args.askers, args.rounds))


if __name__ == "__main__":
    main()
