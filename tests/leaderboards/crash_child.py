"""A bot process for the SIGKILL test: ticks once with a fixed clock and freezes at a
given step of claim/send/mark, announcing it on stdout, until the parent kills it.

    python -m tests.leaderboards.crash_child DB STEP ISO_NOW
"""

from __future__ import annotations

import asyncio
import io
import sys
from datetime import datetime

from bot.adapters.console import ConsoleAdapter
from bot.app import KloutApp
from bot.clock import FixedClock
from bot.config import Config


async def main(db: str, step: str, now: str) -> None:
    clock = FixedClock(datetime.fromisoformat(now))
    async with KloutApp(Config(), clock=clock, db_path=db) as app:
        ConsoleAdapter(app, user="admin", community="test", stdin=io.StringIO(),
                       stdout=sys.stdout, prompt=False)

        async def freeze(current: str) -> None:
            if current == step:
                print(f"AT {step}", flush=True)
                await asyncio.Event().wait()  # until SIGKILL

        app.leaderboards.hook = freeze
        await app.leaderboards.tick(clock.now())
        print("DONE", flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
