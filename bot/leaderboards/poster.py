"""Exactly-once weekly posts: every decision is made in `tick(now)`.

For each destination and its latest slot (bot.leaderboards.schedule):

1. no row yet, slot more than `grace` ago   -> record 'skipped' and log it (bot was down);
2. no row yet                               -> build the board, claim the period (insert or
   ignore, committed), send every part, mark it 'posted' with the message ids;
3. row 'claimed' (a crash or a failed send) -> read the destination's recent posts by the
   bot; parts carrying this period's marker are already out, so send only the rest (or
   mark it posted); nothing out and past the grace window -> 'skipped';
4. row 'posted', 'skipped' or 'failed'      -> nothing.

A crash at any point of claim/send/mark therefore never posts a part twice. The
scheduler (bot.scheduler) only decides when to call tick; tests call it directly
with a fixed clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from bot.config import LeaderboardEntry
from bot.leaderboards.board import WeeklyBoard, build_board
from bot.leaderboards.post import Part, find_marker, render_parts
from bot.leaderboards.schedule import WEEKDAYS, Schedule, latest_slot, manual_period
from bot.leaderboards.target import LeaderboardTarget, ResolvesCommunity
from bot.render import Renderer
from bot.services.influence import InfluenceService
from bot.storage import Storage
from bot.storage.leaderboards import Destination, PeriodPost
from commands.types import Reply

log = logging.getLogger(__name__)

# Later than this after the slot, a post says it is late.
ON_TIME = timedelta(minutes=10)
# Recovery reads the bot's posts from a little before the claim (clocks drift).
RECHECK_MARGIN = timedelta(minutes=10)
GIVE_UP_AFTER = 5
TWITTER_DESTINATION = "timeline"

Action = Literal["posted", "recovered", "skipped", "failed", "retry", "waiting", "empty",
                 "done", "not_due"]
Hook = Callable[[str], Awaitable[None]]
TargetLookup = Callable[[str], LeaderboardTarget | None]


@dataclass(frozen=True, slots=True)
class Outcome:
    destination_id: int
    period: str
    action: Action
    catch_up: bool = False
    message_ids: tuple[str, ...] = ()
    parts: int = 0


async def _no_hook(step: str) -> None:
    return None


def schedule_of(dest: Destination) -> Schedule:
    return Schedule.parse(WEEKDAYS[dest.weekday], dest.time, dest.timezone)


class LeaderboardPoster:
    def __init__(self, store: Storage, influence: InfluenceService, renderer: Renderer, *,
                 grace: timedelta, targets: TargetLookup, hook: Hook | None = None) -> None:
        self.store = store
        self.influence = influence
        self.renderer = renderer
        self.grace = grace
        self.targets = targets
        # Called at every step of claim/send/mark; tests raise from it to simulate a crash.
        self.hook = hook or _no_hook
        self._lock = asyncio.Lock()

    # -- where schedules come from ------------------------------------------
    async def sync_config(self, entries: Sequence[LeaderboardEntry], now: datetime) -> None:
        """Mirror the config's [[leaderboard]] entries; entries gone from it stop."""
        wanted: set[tuple[str, str]] = set()
        current = {(d.platform, d.destination): d
                   for d in await self.store.leaderboards.destinations(enabled_only=False)}
        for entry in entries:
            destination = entry.channel or (TWITTER_DESTINATION
                                             if entry.platform == "twitter" else "")
            key: tuple[str, str] = (entry.platform, destination)
            wanted.add(key)
            known = current.get(key)
            if known is not None and known.source == "settings" and known.enabled:
                log.warning("leaderboard %s %s is set by an admin command; its config entry "
                            "is ignored", entry.platform, destination)
                continue
            await self._upsert(known, entry.platform, entry.community, destination,
                               Schedule.parse(entry.weekday, entry.time, entry.timezone),
                               entry.top, "config", now)
        for key, dest in current.items():
            if dest.source == "config" and dest.enabled and key not in wanted:
                await self.store.leaderboards.disable(dest.id, int(now.timestamp()))

    async def sync_settings(self, now: datetime) -> None:
        """Mirror the schedules admins set with /kloutadmin schedule (guild settings)."""
        boards = await self.store.guild_settings.schedules()
        current = {(d.platform, d.destination): d
                   for d in await self.store.leaderboards.destinations(enabled_only=False)}
        wanted = set()
        for board in boards:
            s = board.schedule
            key = (board.platform, s.channel)
            wanted.add(key)
            try:
                schedule = Schedule.parse(s.weekday, s.time, s.timezone)
            except ValueError as exc:
                log.error("leaderboard schedule of %s %s is unusable: %s", board.platform,
                          board.community, exc)
                continue
            await self._upsert(current.get(key), board.platform, board.community, s.channel,
                               schedule, s.top, "settings", now)
        for key, dest in current.items():
            if dest.source == "settings" and dest.enabled and key not in wanted:
                await self.store.leaderboards.disable(dest.id, int(now.timestamp()))

    async def _upsert(self, known: Destination | None, platform: str, community: str,
                      destination: str, schedule: Schedule, top: int, source: str,
                      now: datetime) -> None:
        if (known is not None and known.enabled and known.source == source
                and known.weekday == schedule.weekday and known.time == schedule.time_text
                and known.timezone == schedule.timezone and known.top == top
                and (not community or known.community == community)):
            return  # unchanged: no write every minute
        await self.store.leaderboards.upsert_destination(
            platform=platform, community=community, destination=destination,
            weekday=schedule.weekday, time=schedule.time_text, timezone=schedule.timezone,
            top=top, source=source, now=int(now.timestamp()))

    # -- the decisions ---------------------------------------------------------
    async def tick(self, now: datetime) -> list[Outcome]:
        """Post every period that is due and not yet posted; resolve interrupted ones."""
        outcomes = []
        async with self._lock:
            for dest in await self.store.leaderboards.destinations():
                try:
                    outcomes.extend(await self._tick_destination(dest, now))
                except Exception:
                    log.exception("weekly leaderboard for %s %s failed", dest.platform,
                                  dest.destination)
        return outcomes

    async def post_now(self, dest: Destination, now: datetime) -> Outcome:
        """An admin's extra post, outside the schedule; one per destination per minute."""
        period = manual_period(now, schedule_of(dest).zone)
        async with self._lock:
            return await self._run(dest, period, now, now)

    async def preview(self, dest: Destination, period: str, now: datetime) -> list[Part]:
        """The parts that would be posted, from the data as of `now`; nothing is stored."""
        community = dest.community or await self._resolve_community(dest) or ""
        board = await build_board(self.store, self.influence, dest.platform, community, now,
                                  dest.top)
        return render_parts(board, period=period, platform=dest.platform,
                            renderer=self.renderer)

    async def _tick_destination(self, dest: Destination, now: datetime) -> list[Outcome]:
        outcomes = []
        slot = latest_slot(schedule_of(dest), now)
        for row in await self.store.leaderboards.unfinished(dest.id):
            if row.period != slot.period:  # an older interrupted period
                outcomes.append(await self._resume(dest, row, now))
        if slot.due.timestamp() < dest.effective_from:
            outcomes.append(Outcome(dest.id, slot.period, "not_due"))
        else:
            outcomes.append(await self._run(dest, slot.period, slot.due, now))
        return outcomes

    async def _run(self, dest: Destination, period: str, due: datetime,
                   now: datetime) -> Outcome:
        repo = self.store.leaderboards
        row = await repo.post_row(dest.id, period)
        if row is not None:
            if row.state == "claimed":
                return await self._resume(dest, row, now)
            return Outcome(dest.id, period, "done")
        late = now - due
        if late > self.grace:
            await repo.skip(dest.id, period, due_at=int(due.timestamp()),
                            now=int(now.timestamp()), note=f"missed: {_hours(late)} late")
            log.warning("weekly leaderboard for %s %s, period %s, skipped: it was due %s and "
                        "the bot was down until %s, past the %s grace window", dest.platform,
                        dest.destination, period, due.isoformat(), now.isoformat(),
                        _hours(self.grace))
            return Outcome(dest.id, period, "skipped")
        target = self.targets(dest.platform)
        if target is None:
            return Outcome(dest.id, period, "waiting")
        community = dest.community or await self._resolve_community(dest)
        if not community:
            log.warning("leaderboard %s %s: no community known for it yet", dest.platform,
                        dest.destination)
            return Outcome(dest.id, period, "waiting")
        board = await build_board(self.store, self.influence, dest.platform, community, now,
                                  dest.top)
        if board.empty:
            await repo.skip(dest.id, period, due_at=int(due.timestamp()),
                            now=int(now.timestamp()), note="nobody scored yet")
            return Outcome(dest.id, period, "empty")
        catch_up = late > ON_TIME
        await self.hook("claim")
        claimed = await repo.claim(dest.id, period, due_at=int(due.timestamp()),
                                   now=int(now.timestamp()), catch_up=catch_up,
                                   payload=board.to_json())
        if not claimed:  # another process got there first; it posts
            return Outcome(dest.id, period, "done")
        await self.hook("claimed")
        if catch_up:
            log.info("weekly leaderboard for %s %s, period %s: catching up, %s late",
                     dest.platform, dest.destination, period, _hours(late))
        return await self._deliver(dest, period, board, catch_up, target, {}, now)

    async def _resume(self, dest: Destination, row: PeriodPost, now: datetime) -> Outcome:
        """A claimed period whose posting was interrupted: ask the platform what is out."""
        target = self.targets(dest.platform)
        if target is None:
            return Outcome(dest.id, row.period, "waiting")
        since = datetime.fromtimestamp(row.claimed_at, UTC) - RECHECK_MARGIN
        try:
            refs = await target.recent_own_posts(dest.destination, since)
        except Exception as exc:
            log.warning("cannot read recent posts in %s %s (%s); retrying later",
                        dest.platform, dest.destination, exc)
            return Outcome(dest.id, row.period, "retry")
        already: dict[int, str] = {}
        for ref in refs:
            found = find_marker(ref.text)
            if found is not None and found[0] == row.period:
                already.setdefault(found[1], ref.message_id)
        board = WeeklyBoard.from_json(row.payload or "")
        parts = render_parts(board, period=row.period, platform=dest.platform,
                             renderer=self.renderer, catch_up=row.catch_up)
        if len(already) >= len(parts):
            await self.store.leaderboards.mark_posted(
                dest.id, row.period, [already[n] for n in sorted(already)],
                now=int(now.timestamp()), note="found posted after an interruption")
            log.info("weekly leaderboard for %s %s, period %s: already posted before the "
                     "interruption; not posting again", dest.platform, dest.destination,
                     row.period)
            return Outcome(dest.id, row.period, "recovered", row.catch_up,
                           tuple(already[n] for n in sorted(already)), len(parts))
        if not already and now - datetime.fromtimestamp(row.due_at, UTC) > self.grace:
            await self.store.leaderboards.skip(
                dest.id, row.period, due_at=row.due_at, now=int(now.timestamp()),
                note="interrupted and never posted within the grace window")
            log.warning("weekly leaderboard for %s %s, period %s, skipped: interrupted and "
                        "past the %s grace window", dest.platform, dest.destination,
                        row.period, _hours(self.grace))
            return Outcome(dest.id, row.period, "skipped")
        # Within the grace window, or half a thread already out (which is finished late
        # rather than left half posted).
        return await self._deliver(dest, row.period, board, row.catch_up, target, already, now)

    async def _deliver(self, dest: Destination, period: str, board: WeeklyBoard,
                       catch_up: bool, target: LeaderboardTarget, already: dict[int, str],
                       now: datetime) -> Outcome:
        repo = self.store.leaderboards
        parts = render_parts(board, period=period, platform=dest.platform,
                             renderer=self.renderer, catch_up=catch_up)
        ids = dict(already)
        previous: str | None = None
        for part in parts:
            if part.number in ids:
                previous = ids[part.number]
                continue
            reply = Reply(part.reply.template, {**part.reply.context, "in_reply_to": previous})
            await self.hook(f"send:{part.number}")
            try:
                message_id = await target.send(dest.destination, reply)
            except Exception as exc:
                retryable = bool(getattr(exc, "retryable", True))
                row = await repo.note_failure(dest.id, period, f"{type(exc).__name__}: {exc}",
                                              give_up_after=GIVE_UP_AFTER if retryable else 1)
                gave_up = row is None or row.state == "failed"
                log.error("weekly leaderboard for %s %s, period %s, part %s/%s not posted: "
                          "%s (%s)", dest.platform, dest.destination, period, part.number,
                          part.of, exc, "giving up" if gave_up else "will retry")
                return Outcome(dest.id, period, "failed" if gave_up else "retry", catch_up)
            await self.hook(f"sent:{part.number}")
            ids[part.number] = message_id or ""
            previous = message_id
        ordered = tuple(ids[n] for n in sorted(ids))
        await self.hook("mark")
        await repo.mark_posted(dest.id, period, ordered, now=int(now.timestamp()),
                               note="catch-up" if catch_up else "")
        await self.hook("marked")
        log.info("weekly leaderboard posted to %s %s, period %s, %s part(s)%s", dest.platform,
                 dest.destination, period, len(parts), " (catch-up)" if catch_up else "")
        return Outcome(dest.id, period, "posted", catch_up, ordered, len(parts))

    async def _resolve_community(self, dest: Destination) -> str | None:
        target = self.targets(dest.platform)
        if not isinstance(target, ResolvesCommunity):
            return None
        community = await target.community_for(dest.destination)
        if community:
            await self.store.leaderboards.set_community(dest.id, community)
        return community


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f} h"


def adapter_targets(adapters: Mapping[str, object]) -> TargetLookup:
    """Look targets up in the app's live adapter registry (filled once adapters start)."""
    warned: set[str] = set()

    def lookup(platform: str) -> LeaderboardTarget | None:
        adapter = adapters.get(platform)
        if adapter is None or isinstance(adapter, LeaderboardTarget):
            return adapter
        if platform not in warned:
            warned.add(platform)
            log.warning("the %s adapter cannot post weekly leaderboards: it has no "
                        "recent_own_posts (bot.leaderboards.target)", platform)
        return None

    return lookup
