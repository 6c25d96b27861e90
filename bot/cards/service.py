"""Images off the event loop: a lazily started process pool and a cache of PNGs.

Drawing a card takes ~10 ms of CPU, which on the event loop would hold every other
reply back; in worker processes it takes none of the loop's time and no GIL. Specs are
frozen dataclasses of everything drawn (the avatar's bytes included), so equal specs
are the same image and the cache is keyed by the spec itself.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from bot.cards import draw
from bot.cards.avatars import AvatarFetcher
from bot.cards.labels import board_spec, card_spec, weekly_spec
from bot.config import CardsSection
from bot.render import Renderer
from commands.types import Reply

log = logging.getLogger(__name__)
Spec = TypeVar("Spec", draw.CardSpec, draw.BoardSpec)
# The replies that have an image, and the file name it goes by.
IMAGE_FILES = {"klout": "klout.png", "leaderboard": "leaderboard.png",
               "leaderboard_post": "leaderboard.png"}


def _warm() -> None:
    """Worker start: load the fonts' cmaps and faces before the first real card."""
    draw.render_card(draw.CardSpec("Warm 山 م 😀", "1", "", 0, "", "", "", (1, 2), "", (), ""))


class CardImages:
    def __init__(self, config: CardsSection) -> None:
        self.config = config
        self.avatars = AvatarFetcher(config.cdn_base, timeout_s=config.avatar_timeout_ms / 1000,
                                     cache_size=config.avatar_cache_size)
        self._pool: ProcessPoolExecutor | None = None
        self._slots: asyncio.Semaphore | None = None
        self._cache: OrderedDict[object, bytes] = OrderedDict()
        self.rendered = self.hits = 0
        self.render_s = 0.0

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # forkserver: workers start from a clean process, not a copy of this one with
            # its event loop, sqlite threads and sockets.
            self._pool = ProcessPoolExecutor(
                self.config.workers, mp_context=multiprocessing.get_context("forkserver"),
                initializer=_warm)
        return self._pool

    @staticmethod
    def has_image(reply: Reply) -> bool:
        return reply.tone == "info" and reply.template in IMAGE_FILES

    async def for_reply(self, renderer: Renderer, reply: Reply, avatar: bytes | None
                        ) -> tuple[bytes, str]:
        """The image of a /klout, /leaderboard or weekly post reply (see has_image), and
        its file name."""
        ctx = reply.context
        if reply.template == "klout":
            png = await self.card(card_spec(renderer, ctx, avatar))
        elif reply.template == "leaderboard_post":
            png = await self.board(weekly_spec(renderer, ctx))
        else:
            png = await self.board(board_spec(renderer, ctx["board"], ctx["community"]))
        return png, IMAGE_FILES[reply.template]

    async def card(self, spec: draw.CardSpec) -> bytes:
        return await self._render(spec, draw.render_card)

    async def board(self, spec: draw.BoardSpec) -> bytes:
        return await self._render(spec, draw.render_board)

    async def _render(self, spec: Spec, function: Callable[[Spec], bytes]) -> bytes:
        found = self._cache.get(spec)
        if found is not None:
            self._cache.move_to_end(spec)
            self.hits += 1
            return found
        started = time.perf_counter()
        pool = self._executor()
        # A few specs in flight per worker, the rest wait here: handed all at once, the
        # executor's feeder thread would pickle a burst's 200 while holding the GIL the
        # event loop needs for the text answers.
        if self._slots is None:
            self._slots = asyncio.Semaphore(2 * self.config.workers)
        try:
            async with self._slots:
                png = await asyncio.get_running_loop().run_in_executor(pool, function, spec)
        except BrokenProcessPool:
            # A worker died (killed, out of memory): this image fails, the next starts
            # a fresh pool.
            if self._pool is pool:
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            raise
        self.render_s += time.perf_counter() - started
        self.rendered += 1
        if self.config.cache_size:
            self._cache[spec] = png
            if len(self._cache) > self.config.cache_size:
                self._cache.popitem(last=False)
        return png

    def forget(self) -> None:
        """Drop every kept image and avatar (after a forget or opt-out: they show who)."""
        self._cache.clear()
        self.avatars.clear()

    async def close(self) -> None:
        await self.avatars.close()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: pool.shutdown(wait=True, cancel_futures=True))
