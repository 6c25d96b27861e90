"""A bot process for the SIGKILL test: ingests activity the way the gateway does
(submit, then the batched writer), announcing every flush that returned, until the
parent kills it.

    python -m tests.faults.writer_child DB PREFIX
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

from bot.app import KloutApp
from bot.clock import FixedClock
from bot.config import Config
from bot.ingest import Activity
from commands.types import Person
from scoring.kinds import Kind

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BATCH = 40


def person(i: int) -> Person:
    return Person("discord", str(1000 + i), f"user{i}")


async def main(db: str, prefix: str) -> None:
    async with KloutApp(Config(), clock=FixedClock(NOW), db_path=db) as app:
        print("READY", flush=True)
        n = 0
        while True:
            acts = []
            for _ in range(BATCH):
                n += 1
                source = f"{prefix}-{n}"
                acts.append(Activity("discord", "g1", person(n % 37), Kind.MESSAGE, NOW,
                                     None, "c1", source))
                acts.append(Activity("discord", "g1", person(n % 11), Kind.REACTION, NOW,
                                     person(n % 37), "c1", source))
            await app.ingestor.record(acts)
            await app.writer.flush()
            print(f"FLUSHED {n}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
