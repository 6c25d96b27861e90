"""What privacy costs: the ingestion gate, forget, export and a community wipe.

    python bench/bench_privacy.py            # 20k members, 1M events
    python bench/bench_privacy.py --small    # 2k members, 100k events

Setup (reported, not part of the figures): one console community stored with the
bot's own schema, bulk-loaded with sqlite3 (events spread over 90 days, a
power-law of who acts on whom), scored once.

Measured, each with the real code paths:
- the ingestion gate: Ingestor.submit of 200k activities between known members
  (best of three), with no consent data, then with 1,000 opted-out members and
  10,000 tombstones (an HMAC per person the first time, then a dict lookup);
- forget of the most active member (preview counts, then the delete, the
  secure-delete rewrite and the WAL truncation), and of a typical member;
- the JSON export of the most active member;
- an admin wipe of the whole community.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import KloutApp
from bot.clock import FixedClock
from bot.config import Config
from bot.ingest import Activity
from bot.storage import Storage
from commands.types import Person
from scoring.kinds import Kind

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
C = "console"


def person(i: int) -> Person:
    return Person(C, f"u{i}", f"member {i}", handle=f"u{i}")


async def setup(db: Path, members: int, events: int) -> None:
    async with Storage(db):
        pass  # migrations
    rng = random.Random(7)
    weights = [1.0 / (i + 1) ** 1.1 for i in range(members)]
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO communities (id, platform, external_id) VALUES (1, ?, 'bench')",
                 (C,))
    conn.executemany(
        "INSERT INTO accounts (id, platform, external_id, handle, display_name) "
        "VALUES (?, ?, ?, ?, ?)",
        [(i + 1, C, f"u{i}", f"u{i}", f"member {i}") for i in range(members)])
    conn.executemany("INSERT INTO members (community_id, account_id, display_name, last_seen) "
                     "VALUES (1, ?, ?, 0)", [(i + 1, f"member {i}") for i in range(members)])
    targets = rng.choices(range(members), weights, k=events)
    actors = rng.choices(range(members), k=events)
    start = int((NOW - timedelta(days=89)).timestamp())
    kinds = (int(Kind.REPLY), int(Kind.REACTION), int(Kind.MENTION))
    conn.executemany(
        "INSERT OR IGNORE INTO events (community_id, kind, actor_id, target_id, ts, channel, "
        "source) VALUES (1, ?, ?, ?, ?, 'general', ?)",
        ((kinds[k % 3], a + 1, t + 1, start + k * (89 * 86_400 // events), str(k))
         for k, (a, t) in enumerate(zip(actors, targets, strict=True))))
    conn.commit()
    conn.close()


async def bench_gate(db: Path, members: int) -> tuple[float, float]:
    rng = random.Random(3)
    people = [person(i) for i in range(min(members, 2_000))]
    acts = [Activity(C, "bench", rng.choice(people), Kind.REACTION, NOW, rng.choice(people),
                     "general", f"g{k}") for k in range(200_000)]
    warm = [Activity(C, "bench", p, Kind.MESSAGE, NOW, None, "general", f"w{i}")
            for i, p in enumerate(people)]
    # Keep the writer asleep (no batch is full, no interval ends): what is timed is the
    # gate. It also sidesteps a shutdown hang of EventWriter under Python 3.11 when its
    # wait_for times out while the loop is blocked (reported to the lead).
    config = replace(Config(), storage=replace(Config().storage, batch_size=1_000_000,
                                               flush_interval_ms=60_000))
    timings = []
    for with_consent in (False, True):
        async with KloutApp(config, clock=FixedClock(NOW), db_path=db) as app:
            if with_consent:
                gate = app.store.privacy
                for i in range(10_000):
                    gate._forgotten.add(gate.digest(C, f"gone{i}"))
                gate._opted_out.update((C, f"x{i}") for i in range(1_000))
            await app.ingestor.record(warm)  # learn the accounts and members
            best = float("inf")
            for _ in range(3):  # best of three: the machine may be busy
                started = time.perf_counter()
                app.ingestor.submit(acts)
                best = min(best, time.perf_counter() - started)
                app.writer._pending.clear()  # measure the gate, not the disk
            timings.append(best)
    return timings[0], timings[1]


async def bench_erasure(db: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    async with KloutApp(Config(), clock=FixedClock(NOW), db_path=db) as app:
        await app.rescore_community(C, "bench")
        busiest, typical = person(0), person(5_000 if os.environ.get("BIG") else 500)
        started = time.perf_counter()
        export = await app.privacy.export(busiest, NOW)
        out["export_s"] = time.perf_counter() - started
        out["export_mb"] = len(export.data) / 1e6
        out["export_events"] = export.events
        for label, who in (("busiest", busiest), ("typical", typical)):
            started = time.perf_counter()
            stored = await app.privacy.footprint(who)
            out[f"preview_{label}_s"] = time.perf_counter() - started
            started = time.perf_counter()
            await app.privacy.forget(who)
            out[f"forget_{label}_s"] = time.perf_counter() - started
            out[f"forget_{label}_rows"] = stored.total
        started = time.perf_counter()
        wiped = await app.privacy.wipe_community(C, "bench")
        out["wipe_s"] = time.perf_counter() - started
        out["wipe_rows"] = wiped.total
    return out


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args()
    members, events = (2_000, 100_000) if args.small else (20_000, 1_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        started = time.perf_counter()
        await setup(db, members, events)
        print(f"setup: {members:,} members, {events:,} events in "
              f"{time.perf_counter() - started:.1f}s")
        plain, gated = await bench_gate(db, members)
        print(f"ingestion gate, Ingestor.submit of 200,000 activities: "
              f"{plain * 1e3:.0f} ms without consent data, {gated * 1e3:.0f} ms with 1,000 "
              f"opted out and 10,000 forgotten ({gated / 200_000 * 1e6:.2f} µs/activity)")
        figures = await bench_erasure(db)
        print(f"export of the busiest member: {figures['export_events']:,.0f} events, "
              f"{figures['export_mb']:.1f} MB in {figures['export_s']:.2f}s")
        for label in ("busiest", "typical"):
            print(f"forget, {label} member: {figures[f'forget_{label}_rows']:,.0f} rows; "
                  f"preview {figures[f'preview_{label}_s']:.2f}s, "
                  f"delete {figures[f'forget_{label}_s']:.2f}s")
        print(f"wipe of the community: {figures['wipe_rows']:,.0f} rows in "
              f"{figures['wipe_s']:.2f}s")


if __name__ == "__main__":
    asyncio.run(main())
