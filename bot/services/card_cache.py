"""Score cards kept between rescores: a busy /klout reads one small row, not a dozen.

Building a card costs about a dozen reads and an explanation of the member's recent
events (~1 ms of the event loop). What it shows changes with a rescore, a new day
(weekly change, trend) and other members' consent (rank, member count, contributor
names), so each cached card carries a stamp of what it was built from, checked on
every request:

* one indexed read (bot/storage/card_state.py): the community's rescore state (a
  rescore, or a forget marking it stale), and the member's account row (id, opt-out,
  audience), so a change made by another process is seen at once too. It runs on the
  event loop's thread through a connection of its own (~10-20 us, never waiting on a
  lock), not on the aiosqlite thread, whose queue and GIL hand-offs made the p99;
* in memory: the UTC day; the privacy version (any opt-out, opt-in, forget, wipe, link
  or unlink anywhere, bot/storage/privacy.py); the community's epoch, bumped on a
  settings change.

The stamp is taken before a card is built, so anything that changes meanwhile makes
the new entry stale at once. Never cached: anyone privacy.blocks (opted out, forgotten:
checked in memory before the cache is even looked at), cards with any status but
scored or unscored, and cards that combine linked accounts (they follow other
communities' scores).

After a rescore, the cards of members who asked lately are built again ahead of their
next request, in the background and through these same checks
(bot/services/card_refresh.py).

What may lag until the next rescore: the explanation (the one-line why, counts and
top contributors) covers events up to the moment the card was built, and names come
from that moment too.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Literal

from bot.storage import Storage
from commands.ports import BoardPage, Influence, ScoreCard
from commands.types import Person

DAY = 86_400
CACHE_SIZE = 20_000
# A card from the rescore just before the latest, and at most this many seconds older,
# is still answered while the refresher rebuilds it (see _just_rescored).
RESCORED_GRACE_S = 30
# ... or from any rescore at most this many seconds before the latest (the refresher may
# need longer than one rescore to get round every asker).
RECENT_S = 3
_CACHEABLE = frozenset({"scored", "unscored"})
# (community id, platform, external id, display name): whose card, as asked
CardKey = tuple[int, str, str, str]


class CardCache:
    """The Influence port, with cards kept until their stamp changes."""

    def __init__(self, inner: Influence, store: Storage, size: int = CACHE_SIZE) -> None:
        self.inner = inner
        self.store = store
        self.size = size
        self._cards: OrderedDict[CardKey, tuple[tuple[object, ...], ScoreCard]] = OrderedDict()
        self._epochs: dict[int, int] = {}
        # community id -> (platform, its platform id), for cards built ahead
        self._where: dict[int, tuple[str, str]] = {}
        self.hits = self.misses = self.refreshed = 0
        self.last_request = 0.0  # perf_counter() of the latest live request
        # Whether the community's kept cards are being rebuilt after a rescore nobody
        # asked for (bot/app.py wires the freshness service and the refresher in), so a
        # card one rescore behind may be answered meanwhile (see _just_rescored).
        self.rebuilding: Callable[[int], bool] = lambda _community_id: False
        self._latest: dict[int, tuple[object, object]] = {}
        self._before_latest: dict[int, tuple[object, object]] = {}

    def community_changed(self, community_id: int) -> None:
        """Something a card may show changed for a whole community (e.g. its settings)."""
        self._epochs[community_id] = self._epochs.get(community_id, 0) + 1

    def clear(self) -> None:
        self._cards.clear()

    def __len__(self) -> int:
        return len(self._cards)

    async def card(self, platform: str, community: str, person: Person,
                   now: datetime) -> ScoreCard:
        self.last_request = time.perf_counter()
        return await self._serve(platform, community, person, now, live=True)

    async def refresh(self, community_id: int, person: Person, now: datetime) -> None:
        """Build and keep a member's card ahead of their asking, unless the kept one is
        still current (bot/services/card_refresh.py). The same checks as a request."""
        where = self._where.get(community_id)
        if where is not None:
            await self._serve(*where, person, now, live=False)

    def recent(self, community_id: int, limit: int) -> list[Person]:
        """Whose cards of this community are kept, the most recently asked first."""
        found = []
        for key in reversed(self._cards):
            if key[0] == community_id:
                found.append(Person(key[1], key[2], key[3]))
                if len(found) == limit:
                    break
        return found

    async def _serve(self, platform: str, community: str, person: Person, now: datetime,
                     *, live: bool) -> ScoreCard:
        privacy = self.store.privacy
        comm = self.store.communities.peek(platform, community)
        if (comm is None or not privacy.loaded
                or privacy.blocks(person.platform, person.external_id)):
            if not live:  # never built ahead for anyone privacy blocks
                return ScoreCard("unknown", person.display_name)
            return await self.inner.card(platform, community, person, now)
        self._where[comm.id] = (platform, community)
        key: CardKey = (comm.id, person.platform, person.external_id, person.display_name)
        # Everything in memory first: a change while the row is read must not be missed.
        stamp_mem = (int(now.timestamp() // DAY), privacy.version,
                     self._epochs.get(comm.id, 0))
        state = await self.store.card_state.get(comm.id, person.platform, person.external_id)
        stamp = (*stamp_mem, *state)
        self._saw_rescore(comm.id, (state[0], state[1]))
        cached = self._cards.get(key)
        if cached is not None and (cached[0] == stamp or (
                live and _just_rescored(cached[0], stamp, self._before_latest.get(comm.id))
                and self.rebuilding(comm.id))):
            if live:
                self._cards.move_to_end(key)
                self.hits += 1
            return cached[1]
        if live:
            self.misses += 1
        else:
            self.refreshed += 1
        card = await self.inner.card(platform, community, person, now)
        if card.status in _CACHEABLE and not card.networks and not state[3]:
            self._cards[key] = (stamp, card)
            if live:
                self._cards.move_to_end(key)
            if len(self._cards) > self.size:
                self._cards.popitem(last=False)
        else:
            self._cards.pop(key, None)
        return card

    def _saw_rescore(self, community_id: int, rescore: tuple[object, object]) -> None:
        """Remember the community's latest rescore (computed_at, events_seen) and the one
        before it, as requests see them."""
        latest = self._latest.get(community_id)
        if latest != rescore:
            if latest is not None:
                self._before_latest[community_id] = latest
            self._latest[community_id] = rescore

    async def board(self, platform: str, community: str, page: int, now: datetime,
                    period: Literal["week", "alltime"]) -> BoardPage:
        return await self.inner.board(platform, community, page, now, period)


def _just_rescored(kept: tuple[object, ...], now: tuple[object, ...],
                   before_latest: tuple[object, object] | None) -> bool:
    """Whether the only change is one rescore: the kept card shows the rescore just
    before the latest. Live activity rescores a community every second or few
    (bot/services/freshness.py); rebuilding every asker's card on their next request
    after each of them would make a burst of /klout wait ~1 ms per member asking. The
    card refresher rebuilds them right after such a rescore instead, and while it does,
    a card one rescore (and at most RESCORED_GRACE_S) behind, or any at most RECENT_S
    behind, is answered. After a
    rescore someone asked for (/rescore, the console), or anything else (a new day, a
    privacy or settings change, a forget marking the community stale, the member's own
    row), never."""
    if kept[:3] != now[:3] or kept[5:] != now[5:]:
        return False
    was, seen = kept[3], now[3]
    if not (isinstance(was, int) and isinstance(seen, int) and isinstance(now[4], int)
            and now[4] >= 0):
        return False
    behind = seen - was
    return 0 <= behind <= RESCORED_GRACE_S and (
        (kept[3], kept[4]) == before_latest or behind <= RECENT_S)
