"""Scores from public metrics, for networks where the bot sees only part of the graph.

On X the bot observes only the posts that mention it, so most accounts it is asked
about have no observed interactions at all. A platform adapter that can read public
metrics (followers, listed count, engagement on recent posts) provides a
`PublicMetricsSource`; `EstimatingInfluence` wraps the observed-score service and
folds those metrics in, using the scoring package's public-metrics model:

* nobody observed acting on them: the score comes from public metrics alone (source
  "public_metrics");
* observed: the observed propagated raw and the public engagement raw add up (both are
  counted in endorsements, scoring.scale.combine_networks), then the audience prior is
  applied once. Being asked about, which is itself an observed mention, therefore
  never makes a big account's score collapse to the size of the bot's small graph.

Opted-out members are never looked up. commands/ sees only the Influence port.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from commands.ports import BoardPage, Influence, ScoreCard
from commands.types import Person
from scoring.config import MODEL_VERSION, ScoringConfig
from scoring.scale import (
    audience_points,
    combine_networks,
    public_metrics_raw,
    score_from_raw,
    with_audience,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PublicMetrics:
    """What a network publicly says about one account. Engagement is per sampled post."""

    followers: int | None
    listed: int | None
    engagement: Mapping[str, float]
    posts_sampled: int


class PublicMetricsSource(Protocol):
    async def public_metrics(self, person: Person, now: datetime) -> PublicMetrics | None:
        """Metrics for `person`, or None when unknown (and not affordable to learn)."""


class EstimatingInfluence:
    """The Influence port, with public metrics folded in for the platforms that have them."""

    def __init__(self, inner: Influence, sources: Mapping[str, PublicMetricsSource],
                 config: ScoringConfig) -> None:
        self.inner = inner
        self.sources = dict(sources)
        self.config = config

    async def card(self, platform: str, community: str, person: Person,
                   now: datetime) -> ScoreCard:
        card = await self.inner.card(platform, community, person, now)
        source = self.sources.get(person.platform)
        if source is None or card.status in ("opted_out", "unknown"):
            return card
        metrics = await source.public_metrics(person, now)
        if metrics is None:
            return card
        points = audience_points(metrics.followers, metrics.listed, self.config)
        public = public_metrics_raw(metrics.engagement, metrics.posts_sampled, self.config)
        observed = card.components.get("propagated", 0.0) if card.status == "scored" else 0.0
        if observed > 0:
            raw = combine_networks({"observed": observed, "public": public})
            score = score_from_raw(with_audience(raw, points))
            if score == card.score:
                return card
            # Weekly change and rank compare observed scores only; next to a score with
            # public metrics folded in they would mislead, so they are left out.
            components = {**card.components, "public": public, "audience_points": points}
            return dataclasses.replace(card, score=score, tier=self.config.tier_for(score),
                                       components=components, change_week=None, rank=None)
        score = score_from_raw(with_audience(public, points))
        summary = "audience" if public <= 0 else "public_engagement"
        return ScoreCard(
            status="scored", name=card.name or person.display_name, score=score,
            tier=self.config.tier_for(score), summary_key=summary,
            components={"public": public, "audience_points": points},
            model_version=MODEL_VERSION, source="public_metrics")

    async def board(self, platform: str, community: str, page: int, now: datetime,
                    period: Literal["week", "alltime"]) -> BoardPage:
        return await self.inner.board(platform, community, page, now, period)
