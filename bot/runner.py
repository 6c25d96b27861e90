"""`klout-bot run`: start every adapter the config enables, until one stops.

Adapters are found by name so that each lives in its own module and the
runtime imports discord.py or tweepy only when that adapter is enabled.
Each module provides `def create(app: KloutApp) -> Adapter`.

When one adapter stops, the others are closed and the bot exits; if it stopped
because it failed, the exit code says so (see ExitCode). A half-running bot (X
answering, Discord silently gone) looks healthy to a service manager, which then
never restarts it; a non-zero exit lets restart-on-failure bring all of it back.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable, Sequence
from enum import IntEnum

from bot.adapters.base import Adapter, AdapterFailed
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


class ExitCode(IntEnum):
    """`klout-bot run` exit codes (README "Running it as a service")."""

    OK = 0  # stopped because asked to: the console's end of input, /quit, Ctrl-C
    FAILED = 1  # an adapter failed (a host it cannot reach, a crash): restarting may help
    CONFIG = 2  # the config or the command line is wrong, or a token is missing
    CREDENTIALS = 3  # a platform rejected the credentials: only new ones help


def load_factory(name: str) -> Callable[[KloutApp], Adapter]:
    module_name, _, attr = ADAPTER_FACTORIES[name].partition(":")
    module = importlib.import_module(module_name)
    factory: Callable[[KloutApp], Adapter] = getattr(module, attr)
    return factory


async def run_adapters(app: KloutApp, names: Sequence[str]) -> ExitCode:
    """Run the named adapters concurrently until one ends; returns the exit code."""
    return await supervise(app, [load_factory(name)(app) for name in names])


async def supervise(app: KloutApp, adapters: Sequence[Adapter]) -> ExitCode:
    """Run `adapters` and the background services until one adapter ends, then close
    everything. An adapter that raised is logged by name with its cause."""
    for adapter in adapters:  # services (the leaderboard poster) post through them
        app.adapters[adapter.name] = adapter
    stops = []
    tasks: list[asyncio.Task[None]] = []
    code = ExitCode.OK
    try:
        for path in SERVICES:
            module_name, _, attr = path.partition(":")
            start = getattr(importlib.import_module(module_name), attr)
            stops.append(await start(app))
        tasks = [asyncio.create_task(a.run(), name=a.name) for a in adapters]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            code = max(code, _outcome(task, others=len(tasks) - 1))
    finally:
        for adapter in adapters:
            await _close(adapter)
        for task in tasks:
            task.cancel()
        for task, result in zip(tasks, await asyncio.gather(*tasks, return_exceptions=True),
                                strict=True):
            if isinstance(result, Exception):
                log.warning("adapter %s failed while stopping: %s", task.get_name(),
                            _cause(result))
        for stop in reversed(stops):
            await stop()
    return code


def _outcome(task: asyncio.Task[None], *, others: int) -> ExitCode:
    name = task.get_name()
    stopping = f"; stopping the other {others} adapter(s)" if others else ""
    exc = None if task.cancelled() else task.exception()
    if exc is None:
        log.info("adapter %s stopped%s", name, stopping)
        return ExitCode.OK
    if isinstance(exc, AdapterFailed):
        log.error("adapter %s failed: %s%s", name, exc, stopping)
        return ExitCode.CREDENTIALS if exc.credentials else ExitCode.FAILED
    # Not one of the failures adapters expect: a bug, so keep the traceback.
    log.error("adapter %s crashed: %s%s", name, _cause(exc), stopping, exc_info=exc)
    return ExitCode.FAILED


async def _close(adapter: Adapter) -> None:
    try:
        await adapter.close()
    except Exception as exc:
        log.warning("adapter %s failed to close: %s", adapter.name, _cause(exc))


def _cause(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
