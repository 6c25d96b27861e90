"""Scores that follow activity within seconds, on every platform.

The scheduled rescore runs hourly; without more, a /klout right after a burst of replies
says "no score yet" for up to an hour. Storage tells this service which communities
got new or removed events (EventRepository.changed); each changed community is then
rescored `delay_s` after its first unscored change, so a burst costs one rescore, and
events keep flowing meanwhile: a change during a rescore starts the next one as soon
as that one is done and the change is `delay_s` old. Scores therefore trail events by
at most about delay_s + two rescores (+ the writer's flush interval).

Only communities of up to `max_members` scored members get this: a rescore reads and
scores the whole community (~1 s at 100k members, ~a minute at 1M), so the big ones
keep the hourly schedule. A rescore's seconds are spent off the event loop, like the
scheduled ones: in threads, or in the Rescorer's worker process for big communities.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from bot.clock import Clock
from bot.services.rescore import Rescorer, RescoreResult

log = logging.getLogger(__name__)
# Set in this service's own tasks, so its Rescorer listener tells its rescores apart.
_OURS: contextvars.ContextVar[bool] = contextvars.ContextVar("fresh_scores", default=False)


class FreshScores:
    def __init__(self, rescorer: Rescorer, flush: Callable[[], Awaitable[object]],
                 members: Callable[[int], Awaitable[int]], clock: Clock, *,
                 delay_s: float, max_members: int) -> None:
        self.rescorer = rescorer
        self.flush = flush
        self.members = members
        self.clock = clock
        self.delay_s = delay_s
        self.max_members = max_members
        # community id -> loop time of its oldest change no rescore has covered yet
        self._since: dict[int, float] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._size: dict[int, int] = {}  # scored members, as of the last rescore
        self._rescoring: set[int] = set()
        self._background: set[int] = set()
        self._closed = False
        self.rescores = 0
        # Seconds from a community's first uncovered change to its scores written.
        self.lags: list[float] = []
        rescorer.listeners.append(self.rescored)

    @property
    def enabled(self) -> bool:
        return self.delay_s > 0 and self.max_members > 0

    def changed(self, community_ids: Iterable[int]) -> None:
        """Events of these communities were stored or removed (called synchronously,
        once per written batch)."""
        if not self.enabled or self._closed:
            return
        now = time.monotonic()
        for cid in community_ids:
            if self._size.get(cid, 0) > self.max_members:
                continue
            self._since.setdefault(cid, now)
            if cid not in self._tasks:
                self._tasks[cid] = asyncio.get_running_loop().create_task(
                    self._follow(cid), name=f"fresh-scores-{cid}")

    async def rescored(self, result: RescoreResult) -> None:
        """A Rescorer listener: whoever rescored, the size is known now."""
        cid = result.community_id
        self._size[cid] = result.members
        if _OURS.get():  # listeners run in the task that rescored
            self._background.add(cid)
        else:
            self._background.discard(cid)

    def rescoring(self, community_id: int) -> bool:
        """Whether this service is rescoring the community now (its listeners included:
        the card refresher starts its pass from one of them)."""
        return community_id in self._rescoring

    def in_background(self, community_id: int) -> bool:
        """Whether the community's latest rescore was this service's, not one asked for."""
        return community_id in self._background

    async def _follow(self, cid: int) -> None:
        _OURS.set(True)  # this task's own context
        try:
            if cid not in self._size:
                self._size[cid] = await self.members(cid)
            while (since := self._since.get(cid)) is not None:
                if self._size.get(cid, 0) > self.max_members:
                    del self._since[cid]
                    log.info("community %s has %s members: rescored on schedule only",
                             cid, self._size[cid])
                    break
                wait = since + self.delay_s - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                # Changes from here on need the next round.
                del self._since[cid]
                self._rescoring.add(cid)
                try:
                    await self.flush()
                    # Nothing to do when another rescore (/rescore, the console's own,
                    # the schedule) has covered the change meanwhile.
                    result = await self.rescorer.rescore_if_stale(
                        cid, self.clock.now().timestamp())
                finally:
                    self._rescoring.discard(cid)
                if result is not None:
                    self.rescores += 1
                    self.lags.append(time.monotonic() - since)
                    del self.lags[:-1000]
        except asyncio.CancelledError:
            raise
        except Exception:
            # The scheduled rescore catches up; the next change tries again.
            log.exception("rescoring community %s after new activity failed", cid)
            self._since.pop(cid, None)
        finally:
            self._tasks.pop(cid, None)

    async def settle(self) -> None:
        """Wait until every event submitted so far is scored (tests, benchmarks)."""
        await self.flush()
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def close(self) -> None:
        """Stop: a rescore under way finishes (its threads use the store), waits don't."""
        self._closed = True
        self._since.clear()
        tasks = dict(self._tasks)
        for cid, task in tasks.items():
            if cid not in self._rescoring:
                task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        with contextlib.suppress(ValueError):
            self.rescorer.listeners.remove(self.rescored)
