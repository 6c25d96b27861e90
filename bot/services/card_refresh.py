"""Score cards rebuilt ahead of a rescore's next /klout burst (refresh-ahead).

A rescore makes every kept card stale (bot/services/card_cache.py), so the first
/klout of each member afterwards builds theirs from storage (~0.5 ms of the event loop
each, in the order asked). The members who asked lately are the ones likely to ask
again: right after a rescore their cards are rebuilt in the background, the most
recent first, one at a time and at low priority: after each card the refresher sleeps
for `1 / share - 1` times what the card cost, so it never takes more than `share` of
the loop, and a live request waits behind at most one card being built.

Cards built ahead go through the card cache's own checks (stamp taken before the
build, never anyone privacy blocks, only scored or unscored cards), so they are exactly
what the member's own request would have kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from bot.clock import Clock
from bot.services.card_cache import CardCache
from bot.services.rescore import RescoreResult

log = logging.getLogger(__name__)
REFRESH_LIMIT = 2_000  # cards per rescore: the burst after one is the members online
LOOP_SHARE = 0.25
MIN_PAUSE_S = 0.001


class CardRefresher:
    def __init__(self, cards: CardCache, clock: Clock, *, limit: int = REFRESH_LIMIT,
                 share: float = LOOP_SHARE) -> None:
        self.cards = cards
        self.clock = clock
        self.limit = limit
        self.share = share
        self._tasks: dict[int, asyncio.Task[None]] = {}

    async def rescored(self, result: RescoreResult) -> None:
        """A Rescorer listener: start over for this community (a rescore while one
        runs makes what it built stale anyway)."""
        cid = result.community_id
        previous = self._tasks.pop(cid, None)
        if previous is not None:
            previous.cancel()
        if self.limit > 0:
            self._tasks[cid] = asyncio.create_task(self._refresh(cid))

    async def _refresh(self, community_id: int) -> None:
        try:
            for person in self.cards.recent(community_id, self.limit):
                started = time.perf_counter()
                await self.cards.refresh(community_id, person, self.clock.now())
                spent = time.perf_counter() - started
                await asyncio.sleep(max(spent * (1 / self.share - 1), MIN_PAUSE_S))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the members' own requests build their cards instead
            log.warning("building cards ahead for community %s stopped: %s",
                        community_id, exc)
        finally:
            if self._tasks.get(community_id) is asyncio.current_task():
                del self._tasks[community_id]

    async def settle(self) -> None:
        """Wait until every refresh under way is done (tests, benchmarks)."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
