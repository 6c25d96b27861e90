"""What the web pages and the JSON API show, from the bot's own services.

The same services answer /klout and /leaderboard, so the web board agrees with the
chat: the board is the store's visible board (opted-out members left out, forgotten
ones deleted), a member's card comes through the score-card cache (which refuses
anyone opted out or forgotten before anything else), and the card image is drawn by
the bot's one render pool (bot/cards/service.py), off the event loop.

Nothing is kept here between requests: each one reads whether the community's board
is on and who the member is, so /kloutadmin web off, an opt-out or a forget take
effect on the very next request.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.cards.labels import card_spec
from bot.services.influence import week_ago_day
from bot.storage.web import WebCommunity
from commands.ports import ScoreCard
from commands.types import Person

if TYPE_CHECKING:
    from bot.app import KloutApp


@dataclass(frozen=True, slots=True)
class WebLine:
    rank: int
    name: str
    score: int
    tier: str
    change: int | None
    token: str  # the member page's address


@dataclass(frozen=True, slots=True)
class WebBoard:
    community: WebCommunity
    lines: tuple[WebLine, ...]
    page: int
    pages: int
    members: int


@dataclass(frozen=True, slots=True)
class WebMember:
    community: WebCommunity
    token: str
    card: ScoreCard
    why: str  # the one-line explanation, as /klout words it (templates/_why.j2)


class WebViews:
    def __init__(self, app: KloutApp, page_size: int) -> None:
        self.app = app
        self.page_size = page_size

    async def community(self, slug: str) -> WebCommunity | None:
        if not _plausible(slug):
            return None
        return await self.app.store.web.community(slug)

    async def board(self, community: WebCommunity, page: int, now: datetime
                    ) -> WebBoard | None:
        """A page of the board; None past the last page."""
        store = self.app.store
        members = await self.app.influence.members(community.id)
        pages = max(1, math.ceil(members / self.page_size))
        if not 1 <= page <= pages:
            return None
        entries = await store.scores.board(community.id, (page - 1) * self.page_size,
                                           self.page_size, week_ago_day(now))
        tokens = await store.web.tokens(community.id, [e.account_id for e in entries])
        tier_for = self.app.config.scoring.model.tier_for
        lines = tuple(WebLine(e.rank, e.name, e.score, tier_for(e.score), e.change,
                              tokens[e.account_id]) for e in entries)
        return WebBoard(community, lines, page, pages, members)

    async def member(self, community: WebCommunity, token: str, now: datetime
                     ) -> WebMember | None:
        """A scored member's card; None for anyone not on the board."""
        if not _plausible(token):
            return None
        found = await self.app.store.web.member(community.id, token)
        if found is None:
            return None
        account, name = found
        privacy = self.app.store.privacy
        await privacy.ensure_loaded()
        if privacy.blocks(account.platform, account.external_id):
            return None
        person = Person(account.platform, account.external_id, name)
        card = await self.app.cards.card(community.platform, community.external_id, person,
                                         now)
        if card.status != "scored":
            return None
        why = self.app.renderer.render_name("_why", "web", {"card": card,
                                                            "asking_self": False}).text
        return WebMember(community, token, card, why)

    async def card_image(self, member: WebMember) -> bytes:
        """The /klout card as a PNG, drawn by the render pool (cached by its spec)."""
        app = self.app
        spec = card_spec(app.renderer, {"card": member.card, "asking_self": False,
                                        "bot_name": app.config.bot.name}, None)
        return await app.images.card(spec)


def _plausible(token: str) -> bool:
    """A slug or member token as bot/storage/web.py makes them (URL-safe base64)."""
    return 8 <= len(token) <= 32 and all(c.isascii() and (c.isalnum() or c in "-_")
                                         for c in token)
