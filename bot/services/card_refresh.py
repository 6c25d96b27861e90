"""Score cards rebuilt ahead of a rescore's next /klout burst (refresh-ahead).

A rescore makes every kept card stale (bot/services/card_cache.py), so the first
/klout of each member afterwards builds theirs from storage (~0.5 ms of the event loop
each, in the order asked). The members who asked lately are the ones likely to ask
again: right after a rescore their cards are rebuilt in the background, the most
recent first, one at a time and at low priority: after each card the refresher sleeps
for `1 / share - 1` times what the card cost, so it never takes more than `share` of
the loop, and a live request waits behind at most one card being built; and a card is
only started once live requests have paused for QUIET_S, so a burst of them is not
interleaved with cards built ahead.

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
QUIET_S = 0.002  # no live request for this long: a burst is over
MAX_QUIET_WAITS = 50


class CardRefresher:
    def __init__(self, cards: CardCache, clock: Clock, *, limit: int = REFRESH_LIMIT,
                 share: float = LOOP_SHARE) -> None:
        self.cards = cards
        self.clock = clock
        self.limit = limit
        self.share = share
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._again: set[int] = set()

    async def rescored(self, result: RescoreResult) -> None:
        """A Rescorer listener: rebuild this community's recent cards. A rescore while a
        pass runs starts the next pass once this one is done, not a new one at once:
        with scores following live activity (a rescore every second or two), starting
        over each time would keep rebuilding the same first cards and never reach the
        rest, which would then be built cold, on their owners' next request."""
        cid = result.community_id
        if self.limit <= 0:
            return
        task = self._tasks.get(cid)
        if task is not None and not task.done():
            self._again.add(cid)
            return
        self._tasks[cid] = asyncio.create_task(self._refresh(cid))

    async def _refresh(self, community_id: int) -> None:
        try:
            while True:
                self._again.discard(community_id)
                for person in self.cards.recent(community_id, self.limit):
                    await self._after_requests()
                    started = time.perf_counter()
                    await self.cards.refresh(community_id, person, self.clock.now())
                    spent = time.perf_counter() - started
                    await asyncio.sleep(max(spent * (1 / self.share - 1), MIN_PAUSE_S))
                if community_id not in self._again:
                    break
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the members' own requests build their cards instead
            log.warning("building cards ahead for community %s stopped: %s",
                        community_id, exc)
        finally:
            if self._tasks.get(community_id) is asyncio.current_task():
                del self._tasks[community_id]

    async def _after_requests(self) -> None:
        """Wait for a gap in live requests: a burst of /klout answered from kept cards
        costs ~35 us of the loop per card, and a card built ahead among them (~1 ms)
        would make every later one in the burst wait. Requests that never pause delay
        it by at most MAX_QUIET_WAITS waits."""
        for _ in range(MAX_QUIET_WAITS):
            quiet = time.perf_counter() - self.cards.last_request
            if quiet >= QUIET_S:
                return
            await asyncio.sleep(QUIET_S - quiet)

    def busy(self, community_id: int) -> bool:
        """Whether cards of this community are being rebuilt now."""
        task = self._tasks.get(community_id)
        return task is not None and not task.done()

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
