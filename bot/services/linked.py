"""Score cards that combine a member's linked accounts (docs/privacy.md, "Linked accounts").

A member who linked an X account to, say, their Discord account gets one score on
Discord that combines both networks: each network's score is turned back into raw
endorsements on the fixed scale, the raws add up (scoring.scale.combine_networks),
and the sum goes back onto the scale. Linking an account that scores 1 changes
nothing; two equal scores make about 3 points more. The card lists each network's
part. Rank, trend and leaderboards stay this community's own, so a linked account
never moves anyone on a board of a community that never saw that activity.

Combination only flows one way: a card asked for on a public network (X) never
includes anything from a private community, whatever is linked.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Literal

from bot.storage import Account, Storage
from bot.storage.accounts import account_by_external
from bot.storage.privacy import LinkRow, links_of
from bot.storage.reads import Steps
from commands.ports import BoardPage, Influence, ScoreCard
from commands.privacy_types import NetworkScore
from commands.types import Person
from scoring.config import ScoringConfig
from scoring.scale import combine_networks, raw_at_points, score_from_raw

PUBLIC_NETWORKS = frozenset({"twitter"})


def raw_of_score(score: int) -> float:
    """The raw at the centre of `score`'s step on the scale (inverse of score_float)."""
    return raw_at_points(max(score, 1))


class LinkedInfluence:
    """The Influence port with linked accounts folded into each card."""

    def __init__(self, inner: Influence, store: Storage, config: ScoringConfig) -> None:
        self.inner = inner
        self.store = store
        self.config = config

    async def card(self, platform: str, community: str, person: Person,
                   now: datetime) -> ScoreCard:
        card = await self.inner.card(platform, community, person, now)
        if platform in PUBLIC_NETWORKS or card.status in ("opted_out", "unknown"):
            return card
        links = [link for link in await self.store.reads.run(_links(person))
                 if link.platform in PUBLIC_NETWORKS]
        if not links:
            return card
        own = card.score if card.status == "scored" else None
        parts = [NetworkScore(platform, own)]
        raws = {platform: raw_of_score(own) if own is not None else 0.0}
        best: ScoreCard | None = None
        for link in links:
            linked = link.linked
            where = await self.store.privacy.community_of(linked.id) or ""
            them = Person(linked.platform, linked.external_id,
                          linked.handle or linked.display_name or linked.external_id,
                          handle=linked.handle)
            other = await self.inner.card(linked.platform, where, them, now)
            score = other.score if other.status == "scored" else None
            parts.append(NetworkScore(linked.platform, score, linked.handle))
            if score is not None:
                raws[linked.platform] = raw_of_score(score)
                best = other if best is None or other.score > best.score else best
        combined = score_from_raw(combine_networks(raws))
        if own is None and best is None:
            return dataclasses.replace(card, networks=tuple(parts))
        if own is None and best is not None:
            # Not scored here yet: the card is the linked network's, labelled as such.
            return ScoreCard(
                status="scored", name=card.name, score=combined,
                tier=self.config.tier_for(combined), summary_key=best.summary_key,
                model_version=best.model_version, source=best.source,
                networks=tuple(parts))
        # The weekly change compares this community's scores; it holds only while the
        # linked part adds nothing.
        change = card.change_week if combined == card.score else None
        return dataclasses.replace(card, score=combined, tier=self.config.tier_for(combined),
                                   change_week=change, networks=tuple(parts))

    async def board(self, platform: str, community: str, page: int, now: datetime,
                    period: Literal["week", "alltime"]) -> BoardPage:
        return await self.inner.board(platform, community, page, now, period)


def _links(person: Person) -> Steps[list[LinkRow]]:
    """What the person linked; both reads in one run (bot/storage/read_runner.py)."""
    account: Account | None = yield account_by_external(person.platform, person.external_id)
    if account is None:
        return []
    found: list[LinkRow] = yield links_of(account.id)
    return found
