"""`klout-bot run`: start every adapter the config enables, until one stops.

Adapters are found by name so that each lives in its own module and the
runtime imports discord.py or tweepy only when that adapter is enabled.
Each module provides `def create(app: KloutApp) -> Adapter`.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable, Sequence

from bot.adapters.base import Adapter
from bot.app import KloutApp

log = logging.getLogger(__name__)

ADAPTER_FACTORIES: dict[str, str] = {
    "console": "bot.adapters.console:create",
    "discord": "bot.adapters.discord:create",
    "twitter": "bot.adapters.twitter:create",
}

# Background services (the scheduler, ...) register here the same way; each is
# `async def start(app) -> Callable[[], Awaitable[None]]` returning its stop function.
SERVICES: list[str] = [
    "bot.services.privacy_purge:start",
    # Rescoring, history retention and the weekly leaderboard posts (APScheduler).
    "bot.scheduler:start",
]


def load_factory(name: str) -> Callable[[KloutApp], Adapter]:
    module_name, _, attr = ADAPTER_FACTORIES[name].partition(":")
    module = importlib.import_module(module_name)
    factory: Callable[[KloutApp], Adapter] = getattr(module, attr)
    return factory


async def run_adapters(app: KloutApp, names: Sequence[str]) -> None:
    """Run the named adapters concurrently; when one ends, close the others."""
    adapters = [load_factory(name)(app) for name in names]
    for adapter in adapters:  # services (the leaderboard poster) post through them
        app.adapters[adapter.name] = adapter
    stops = []
    for path in SERVICES:
        module_name, _, attr = path.partition(":")
        start = getattr(importlib.import_module(module_name), attr)
        stops.append(await start(app))
    tasks = [asyncio.create_task(a.run(), name=f"adapter-{a.name}") for a in adapters]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task.exception() is not None:
                log.error("adapter %s stopped: %s", task.get_name(), task.exception())
    finally:
        for adapter in adapters:
            await adapter.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for stop in reversed(stops):
            await stop()
