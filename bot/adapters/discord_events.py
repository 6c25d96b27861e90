"""The bridge from raw gateway events to storage: translate, queue, remove.

`handle(event, data)` is synchronous and never waits on SQLite: activities go to the
Ingestor's queue; the few things that need a lookup or a delete (a reply whose original
the gateway didn't include, a removed reaction, a deleted message) run as tracked
tasks. The Discord client calls it from its gateway parsers; the benchmark calls it
directly with the same payloads.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import Any

from bot.adapters.discord_fastlane import FastLane
from bot.adapters.discord_ingest import PLATFORM, GatewayTranslator, PendingReply, Removal
from bot.app import KloutApp
from bot.storage.guild_settings import GuildSettings

log = logging.getLogger(__name__)

JSON = Mapping[str, Any]
INGESTED_EVENTS = (
    "MESSAGE_CREATE", "MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE",
    "MESSAGE_REACTION_REMOVE_ALL", "MESSAGE_DELETE", "MESSAGE_DELETE_BULK",
)


class GatewayEvents:
    def __init__(self, app: KloutApp, bot_user_id: str,
                 parent_of: Callable[[str], str | None] = lambda _c: None, *,
                 fast_lane: bool = True) -> None:
        self.app = app
        self.translator = GatewayTranslator(bot_user_id, self.settings_for, parent_of)
        # Off only to compare it with the full path (tests/discord/test_fastlane.py).
        self.fast = FastLane(self.translator, app.ingestor, self.settings_for,
                             enabled=fast_lane)
        # Each handler returns True when it is done, False when a task will report.
        self._handlers: dict[str, Callable[[JSON], bool]] = {
            "MESSAGE_CREATE": self._message,
            "MESSAGE_REACTION_ADD": self._reaction_add,
            "MESSAGE_REACTION_REMOVE": self._reaction_remove,
            "MESSAGE_REACTION_REMOVE_ALL": self._reactions_cleared,
            "MESSAGE_DELETE": self._deleted,
            "MESSAGE_DELETE_BULK": self._deleted,
        }
        self._tasks: set[asyncio.Task[None]] = set()
        # How many events of each type were fully handled (tasks included), so tests and
        # operators can wait for "processed" instead of sleeping.
        self.handled: Counter[str] = Counter()
        self._changed = asyncio.Event()
        self._waiting = 0

    async def prepare(self) -> None:
        """Warm the caches the synchronous path reads."""
        await self.app.store.privacy.ensure_loaded()  # else every event waits for a flush
        await self.app.store.guild_settings.load_all()
        self.translator.known_bots.update(await self.app.store.accounts.bot_ids(PLATFORM))

    def settings_for(self, guild_id: str) -> GuildSettings | None:
        community = self.app.store.communities.peek(PLATFORM, guild_id)
        return None if community is None else self.app.store.guild_settings.peek(community.id)

    # -- entry points ---------------------------------------------------------------
    def handle(self, event: str, data: JSON) -> None:
        """Ingest one gateway dispatch. Never raises: a bad payload is logged and skipped."""
        handler = self._handlers.get(event)
        if handler is None:
            return
        try:
            done = handler(data)
        except Exception:
            log.exception("could not ingest %s %s", event, data.get("id") or data.get("message_id"))
            done = True
        if done:
            self._done(event)

    def ingest_history(self, guild_id: str, messages: Iterable[JSON]) -> int:
        """Backfill: REST history pages have the gateway's message shape minus guild_id."""
        count = 0
        for data in messages:
            acts, pending = self.translator.message(data, guild_id)
            count += self.app.ingestor.submit(acts)
            if pending is not None:
                self._spawn(self._complete_reply(pending), "MESSAGE_CREATE")
        return count

    async def wait_handled(self, event: str, count: int, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until `count` events of this type were handled (their tasks included)."""
        self._waiting += 1
        try:
            async with asyncio.timeout(timeout):
                while self.handled[event] < count:
                    changed = self._changed
                    await changed.wait()
        finally:
            self._waiting -= 1

    async def drain(self) -> None:
        """Wait for every lookup and removal in flight."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- handlers -------------------------------------------------------------------
    def _message(self, data: JSON) -> bool:
        rows = self.fast.message(data)
        if rows is not None:
            if rows:
                self.app.writer.submit(rows)
            return True
        acts, pending = self.translator.message(data)
        if acts:
            self.app.ingestor.submit(acts)
        if pending is None:
            return True
        self._spawn(self._complete_reply(pending), "MESSAGE_CREATE")
        return False

    def _reaction_add(self, data: JSON) -> bool:
        now = self.app.clock.now()
        rows = self.fast.reaction_add(data, int(now.timestamp()))
        if rows is not None:
            if rows:
                self.app.writer.submit(rows)
            return True
        act = self.translator.reaction_add(data, now)
        if act is not None:
            self.app.ingestor.submit((act,))
        return True

    def _reaction_remove(self, data: JSON) -> bool:
        return self._removing(self.translator.reaction_remove(data), "MESSAGE_REACTION_REMOVE")

    def _reactions_cleared(self, data: JSON) -> bool:
        return self._removing(self.translator.reactions_cleared(data),
                              "MESSAGE_REACTION_REMOVE_ALL")

    def _deleted(self, data: JSON) -> bool:
        event = "MESSAGE_DELETE_BULK" if "ids" in data else "MESSAGE_DELETE"
        removals = self.translator.deleted(data)
        if not removals:
            return True
        self._spawn(self._remove(removals), event)
        return False

    def _removing(self, removal: Removal | None, event: str) -> bool:
        if removal is None:
            return True
        self._spawn(self._remove([removal]), event)
        return False

    # -- async work -----------------------------------------------------------------
    async def _complete_reply(self, pending: PendingReply) -> None:
        act = pending.activity_without_target
        store = self.app.store
        # The original may still sit in the write queue.
        await self.app.writer.flush()
        community = await store.communities.ensure(PLATFORM, act.community)
        author_id = await store.events.author_of(community.id, pending.referenced_id)
        author = None if author_id is None else await store.accounts.get(author_id)
        if author is not None and author.is_bot:
            return
        completed = self.translator.reply_target(
            pending, None if author is None else author.external_id)
        if completed is not None:
            self.app.ingestor.submit((completed,))

    async def _remove(self, removals: list[Removal]) -> None:
        store = self.app.store
        # What is still queued must land before the delete, or it would outlive it.
        await self.app.writer.flush()
        for removal in removals:
            community = await store.communities.ensure(PLATFORM, removal.guild_id)
            actor_id = None
            if removal.actor_id is not None:
                account = await store.accounts.by_external(PLATFORM, removal.actor_id)
                if account is None:
                    continue
                actor_id = account.id
            await store.events.remove_source(
                community.id, removal.source,
                kind=None if removal.kind is None else int(removal.kind), actor_id=actor_id)

    def _spawn(self, work: Coroutine[Any, Any, None], event: str) -> None:
        task = asyncio.get_running_loop().create_task(self._tracked(work, event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tracked(self, work: Awaitable[None], event: str) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not finish handling %s", event)
        self._done(event)

    def _done(self, event: str) -> None:
        self.handled[event] += 1
        if self._waiting:  # per event: no Event churn unless someone waits
            self._changed.set()
            self._changed = asyncio.Event()
