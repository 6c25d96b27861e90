"""The X adapter as a process of its own, for the kill -9 tests.

    X_API_KEY=... python -m tests.twitter.x_bot_process --db F --api-base URL --polls N

Built with the real factory (`bot.adapters.twitter.create`, credentials from the
environment) and the system clock; it polls N times, `--interval` seconds apart, and
prints one line per poll.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys

from bot.adapters.twitter import create
from bot.app import KloutApp
from bot.clock import SystemClock
from bot.config import Config, StorageSection, TwitterSection
from bot.logs import setup_logging


async def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--api-base", required=True)
    parser.add_argument("--polls", type=int, default=1_000)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--card-images", action="store_true")
    args = parser.parse_args(argv)
    config = Config().with_overrides(
        twitter=dataclasses.replace(TwitterSection(), api_base=args.api_base,
                                    request_timeout_s=30.0, card_images=args.card_images),
        storage=dataclasses.replace(StorageSection(), path=args.db))
    async with KloutApp(config, clock=SystemClock()) as app:
        adapter = create(app)
        try:
            for number in range(args.polls):
                report = await adapter.poll_once()
                print(f"poll {number}: {report}", flush=True)
                await asyncio.sleep(args.interval)
        finally:
            await adapter.close()
    return 0


if __name__ == "__main__":
    setup_logging("INFO")
    sys.exit(asyncio.run(run(sys.argv[1:])))
