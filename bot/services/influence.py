"""Score cards and leaderboards over storage: the Influence port of commands/."""

from __future__ import annotations

import asyncio
import bisect
import math
from collections.abc import Awaitable
from datetime import datetime
from typing import Literal

from bot.services.rescore import RescoreResult
from bot.storage import Account, Community, ScoreRow, Storage, accounts, events, scores
from bot.storage.reads import Steps
from bot.storage.scores import scores_on_days
from commands.ports import BoardLine, BoardPage, Contributor, ScoreCard
from commands.types import Person
from scoring.config import ScoringConfig
from scoring.engine import Explanation, Interaction, Profile, explain_user
from scoring.kinds import Kind

DAY = 86_400
WEEK_DAYS = 7
# (cache key, score rows, ranks of opted-out scored members), per community
Visible = tuple[object, int, list[int]]


class InfluenceService:
    def __init__(self, store: Storage, config: ScoringConfig, page_size: int = 10) -> None:
        self.store = store
        self.config = config
        self.page_size = page_size
        self._visible: dict[int, Visible] = {}
        self._counting: dict[int, tuple[object, asyncio.Future[Visible]]] = {}

    async def card(self, platform: str, community: str, person: Person,
                   now: datetime) -> ScoreCard:
        comm = await self.store.communities.get(platform, community)  # in memory once seen
        return await self.store.reads.run(self.card_steps(comm, person, now))

    def card_steps(self, comm: Community | None, person: Person, now: datetime
                   ) -> Steps[ScoreCard]:
        """The card's reads, run as one sequence (bot/storage/read_runner.py): on the
        event loop's thread in a row, not a dozen trips to the reader's thread."""
        name = person.display_name
        account: Account | None = yield accounts.account_by_external(
            person.platform, person.external_id)
        if account is None:
            return ScoreCard("unscored", name)
        name = name or account.label
        if account.opted_out:
            return ScoreCard("opted_out", name)
        row: ScoreRow | None = None if comm is None else (
            yield scores.score_row(comm.id, account.id))
        if comm is None or row is None:
            return ScoreCard("unscored", name)
        # Before the member's own reads: if the board must be counted first, everyone in
        # a burst waits for that one count, and then each card is built in one go, in
        # the order asked for, rather than all at the end.
        total, opted_out = yield from self._visibility(comm.id)
        now_s = now.timestamp()
        today = int(now_s // DAY)
        week_ago: int | None = yield scores.score_on(comm.id, account.id, today - WEEK_DAYS)
        explanation = yield from self._explain(comm.id, account.id, now_s, account.followers,
                                               account.listed, week_ago)
        history = yield scores.history(comm.id, account.id, today - 8 * WEEK_DAYS)
        trend = _weekly(history, today)
        top = explanation.top_contributors[:3]
        names: dict[int, str] = yield accounts.names(comm.id, [int(a) for a, _ in top])
        contributors = tuple(Contributor(names.get(int(a), "someone"), share)
                             for a, share in top)
        return ScoreCard(
            status="scored",
            name=name,
            score=row.score,
            tier=self.config.tier_for(row.score),
            change_week=None if week_ago is None else row.score - week_ago,
            rank=row.rank - bisect.bisect_left(opted_out, row.rank),
            members=total - len(opted_out),
            summary_key=explanation.summary_key,
            trend=trend,
            top_contributors=contributors,
            counts_by_kind=dict(explanation.counts_by_kind),
            components=dict(explanation.components),
            model_version=row.model_version,
        )

    def _explain(self, community_id: int, account_id: int, now_s: float,
                 followers: int | None, listed: int | None, previous: int | None
                 ) -> Steps[Explanation]:
        since = int(now_s - self.config.window_days * DAY)
        incoming: list[tuple[int, int, int, float]] = yield events.incoming(
            community_id, account_id, since)
        me = str(account_id)
        interactions = [Interaction(str(a), me, Kind(k), float(ts), weight=w)
                        for a, k, ts, w in incoming]
        rates: dict[int, float] = yield scores.give_rates(
            community_id, sorted({a for a, *_ in incoming}))
        return explain_user(
            me, interactions, {str(a): r for a, r in rates.items()}, now_s,
            profiles=[Profile(me, followers=followers, listed=listed)],
            previous_score=previous, config=self.config)

    async def members(self, community_id: int) -> int:
        """Scored members who have not opted out."""
        total, opted_out = await self.store.reads.run(self._visibility(community_id))
        return total - len(opted_out)

    def _visibility(self, community_id: int) -> Steps[tuple[int, list[int]]]:
        """(score rows, ranks of opted-out scored members), cached: counting a big board
        per request costs ~40 ms at 1M members. Both only change with a rescore, a forget
        or an opt-out, which is what the cache key follows (two small lookups)."""
        key = yield from self._key_steps(community_id)
        cached = self._visible.get(community_id)
        if cached is None or cached[0] != key:
            cached = yield self._recount(community_id, key)
        return cached[1], cached[2]

    def _recount(self, community_id: int, key: object) -> Awaitable[Visible]:
        """One count per community and key, however many cards wait for it: a cold burst
        after a start would otherwise count the board (~25 ms at 1M members) once per
        request, one after another on the shared reader."""
        pending = self._counting.get(community_id)
        if pending is None or pending[0] != key:
            pending = (key, asyncio.ensure_future(self._count(community_id, key)))
            self._counting[community_id] = pending
        # Shielded: one requester giving up must not cancel the others' count.
        return asyncio.shield(pending[1])

    async def _count(self, community_id: int, key: object) -> Visible:
        try:
            counted = (key, await self.store.scores.total(community_id),
                       await self.store.scores.opted_out_ranks(community_id))
        finally:
            pending = self._counting.get(community_id)
            if pending is not None and pending[1] is asyncio.current_task():
                del self._counting[community_id]
        self._visible[community_id] = counted
        return counted

    async def _visibility_key(self, community_id: int) -> object:
        return await self.store.reads.run(self._key_steps(community_id))

    def _key_steps(self, community_id: int) -> Steps[object]:
        state = yield scores.rescore_state(community_id)
        generation = self.store.privacy.generation  # as of the state read just now
        digest = yield accounts.opted_out_digest()
        return (state, generation, digest)

    async def rescored(self, result: RescoreResult) -> None:
        """After a rescore (a Rescorer listener): the rescore knows how many rows it
        wrote, so the first /klout need not count them. Counting walks the whole board
        (a second or more at 1M members) on the one reader connection, where every other
        read, each /klout's included, would wait behind it."""
        cid = result.community_id
        key = await self._visibility_key(cid)
        self._visible[cid] = (key, result.members, await self.store.scores.opted_out_ranks(cid))

    async def board(self, platform: str, community: str, page: int, now: datetime,
                    period: Literal["week", "alltime"], size: int | None = None) -> BoardPage:
        """One page of the board. `size` overrides the page size (the weekly post's top N
        comes through here too, so it always agrees with /leaderboard)."""
        size = size or self.page_size
        comm = await self.store.communities.get(platform, community)
        if comm is None:
            return BoardPage((), 1, 1, 0, period)
        members = await self.members(comm.id)
        pages = max(1, math.ceil(members / size))
        offset = (page - 1) * size
        if page > pages:
            return BoardPage((), page, pages, members, period)
        if period == "week":
            entries = await self.store.scores.board(comm.id, offset, size, week_ago_day(now))
        else:
            entries = await self.store.scores.board_alltime(comm.id, offset, size)
        lines = tuple(BoardLine(e.rank, e.name, e.score, self.config.tier_for(e.score),
                                e.change) for e in entries)
        return BoardPage(lines, page, pages, members, period)


def week_ago_day(now: datetime) -> int:
    """The UTC day whose snapshot "this week" compares against."""
    return int(now.timestamp() // DAY) - WEEK_DAYS


def _weekly(history: list[tuple[int, int | None]], today: int) -> tuple[int, ...]:
    """One score per week, oldest first: the score each week ended with (history is
    sparse, so carried forward), leaving out weeks the member was not scored."""
    ends = [today - WEEK_DAYS * w for w in range(8, -1, -1)]
    return tuple(s for s in scores_on_days(history, ends) if s is not None)
