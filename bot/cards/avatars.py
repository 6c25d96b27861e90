"""Avatars from the Discord CDN, kept in memory, with a deadline.

A card never waits longer than the timeout for a picture: past it (or on any error)
the card draws the member's initial, and the next card for them tries again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

import aiohttp

log = logging.getLogger(__name__)
# Avatars are 128 px on the card; a bigger answer is not an avatar.
MAX_AVATAR_BYTES = 2 << 20


class AvatarFetcher:
    def __init__(self, base_url: str, *, timeout_s: float, cache_size: int) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.cache_size = cache_size
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._session: aiohttp.ClientSession | None = None
        self._pending: dict[str, asyncio.Future[bytes | None]] = {}
        self.fetched = self.hits = self.failed = 0

    async def get(self, path: str) -> bytes | None:
        """The image at `path` under the CDN base (e.g. /avatars/ID/HASH.png?size=128),
        or None when it could not be had in time."""
        found = self._cache.get(path)
        if found is not None:
            self._cache.move_to_end(path)
            self.hits += 1
            return found
        # A burst asks for the same avatar many times at once: one request serves all.
        pending = self._pending.get(path)
        if pending is None:
            pending = self._pending[path] = asyncio.ensure_future(self._load(path))
            pending.add_done_callback(lambda _: self._pending.pop(path, None))
        else:
            self.hits += 1
        return await asyncio.shield(pending)

    async def _load(self, path: str) -> bytes | None:
        try:
            data = await self._fetch(path)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            self.failed += 1
            log.info("avatar %s not fetched (%s): drawing the initial", path,
                     type(exc).__name__)
            return None
        self.fetched += 1
        if self.cache_size:
            self._cache[path] = data
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return data

    async def _fetch(self, path: str) -> bytes:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        async with self._session.get(self.base_url + path) as response:
            response.raise_for_status()
            data = await response.content.read(MAX_AVATAR_BYTES + 1)
        if len(data) > MAX_AVATAR_BYTES:
            raise ValueError("avatar too large")
        return data

    def clear(self) -> None:
        self._cache.clear()

    async def close(self) -> None:
        for pending in list(self._pending.values()):
            pending.cancel()
        if self._session is not None:
            await self._session.close()
            self._session = None
