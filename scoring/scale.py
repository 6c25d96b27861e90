"""The fixed raw -> 1..100 scale, the audience prior, and cross-network combination.

Raw influence is measured in "endorsements": one ordinary member spending their
whole attention on you is worth 1.0. The scale is a fixed curve of its logarithm,
so a score means the same thing in a server of 50 and a platform of 50 million,
and does not move when unrelated people join (no percentiles, no population curve).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from scoring.config import ScoringConfig
from scoring.kinds import Kind

# score = 1 + SCALE_POINTS * u**2, u = ln(1 + raw / SCALE_RAW0), rounded half up, clamped
# to 1..100. Quadratic in the logarithm: the bottom of the scale is log-spaced and
# gentle (one more light fan is a point or two), the top is stretched so that the tiers
# above "voice" are reachable on a platform, yet a server of 40 cannot get there.
# Calibrated on real data (docs/scoring.md, "Real data"): the median user anybody acted
# on in a week of 300k X users lands at about 21, its top few dozen at 80+.
SCALE_POINTS = 0.168
SCALE_RAW0 = 8e-9

# Unobserved X accounts: one weighted engagement per recent post (a like is 0.5,
# a reply 3, as for observed actions) counts as this many endorsements. Set so the
# biggest accounts (100M followers, ~50k likes and ~5k replies per post) land in
# the high 90s and an account with a few hundred followers and a like every few
# posts lands in the 30s (docs/scoring.md, "Calibration").
PUBLIC_ENGAGEMENT_RATE = 0.05
# Engagement averaged over few posts is noisy: n posts count n / (n + this).
PUBLIC_POSTS_HALF_TRUST = 3.0


def _units(raw: float) -> float:
    return math.log1p(max(raw, 0.0) / SCALE_RAW0)


def score_float(raw: float) -> float:
    return 1.0 + SCALE_POINTS * _units(raw) ** 2


def score_from_raw(raw: float) -> int:
    """The integer score 1..100 for a raw value (NaN and negatives count as 0)."""
    if not raw > 0:  # also catches NaN
        return 1
    if math.isinf(raw):
        return 100
    return int(min(100.0, max(1.0, math.floor(score_float(raw) + 0.5))))


def scores_from_raw(raw: np.ndarray) -> np.ndarray:
    """Vectorised score_from_raw; returns int16."""
    clean = np.where(raw > 0, raw, 0.0)  # NaN -> 0; +inf stays and clips to 100
    units = np.log1p(clean / SCALE_RAW0)
    points = 1.0 + SCALE_POINTS * units * units
    return np.clip(np.floor(points + 0.5), 1, 100).astype(np.int16)


def raw_at_points(points: float) -> float:
    """The raw whose unrounded score is `points` (inverse of score_float; 0 below 1)."""
    if points <= 1.0:
        return 0.0
    return SCALE_RAW0 * math.expm1(math.sqrt((points - 1.0) / SCALE_POINTS))


def raw_for_score(score: float) -> float:
    """The smallest raw that rounds to `score` (inverse of the scale, for docs and tests)."""
    return raw_at_points(score - 0.5) if score > 1.5 else 0.0


def audience_points(followers: float | None, listed: float | None, config: ScoringConfig) -> float:
    """Score points (0..audience_max_points) from followers and listed count.

    Log-shaped and saturating: 1M followers is worth the maximum, 1k about half,
    unknown (None/NaN) nothing. Bounded because a big audience that ignores you
    is not influence.
    """
    audience = 0.0
    for value, mult in ((followers, 1.0), (listed, config.listed_weight)):
        if value is not None and math.isfinite(value) and value > 0:
            audience += float(value) * mult
    share = math.log1p(audience) / math.log1p(config.audience_saturation)
    return config.audience_max_points * min(1.0, share)


def audience_points_array(
    followers: np.ndarray, listed: np.ndarray, config: ScoringConfig
) -> np.ndarray:
    f = np.where(np.isfinite(followers) & (followers > 0), followers, 0.0)
    lst = np.where(np.isfinite(listed) & (listed > 0), listed, 0.0)
    share = np.log1p(f + lst * config.listed_weight) / math.log1p(config.audience_saturation)
    return config.audience_max_points * np.minimum(share, 1.0)


def with_audience(raw: float, points: float) -> float:
    """Raw after adding `points` score points of audience prior.

    The shift is done on the score: the result is the raw whose unrounded score is
    exactly `points` higher, so the prior moves every score by `points` before
    rounding, at the floor and at the top alike, never more.
    """
    if points == 0:
        return max(raw, 0.0)  # exact, not a round trip through the scale
    return raw_at_points(score_float(raw) + points)


def with_audience_array(raw: np.ndarray, points: np.ndarray) -> np.ndarray:
    units = np.log1p(np.maximum(raw, 0.0) / SCALE_RAW0)
    shifted = SCALE_RAW0 * np.expm1(np.sqrt(units * units + points / SCALE_POINTS))
    return np.where(points == 0, np.maximum(raw, 0.0), shifted)


def combine_networks(components: Mapping[str, float]) -> float:
    """One raw value from per-network raw components (e.g. {"discord": 4.2, "twitter": 30.0}).

    Raw is a count of endorsements, so endorsements earned on two networks add
    up. Averaging 1..100 scores instead would make linking a second, smaller
    account LOWER your score, and max() would ignore it; summing raw does
    neither. Negative, NaN and infinite components are ignored.
    """
    return math.fsum(v for v in components.values() if math.isfinite(v) and v > 0)


_PLURALS = {k.plural: k for k in Kind}


def weighted_engagement(
    avg_engagement_per_post: float | Mapping[str, float], config: ScoringConfig
) -> float:
    """Weighted engagements per post: a float is taken as already weighted; a mapping
    with keys likes/retweets/replies/quotes (singular or plural) uses the kind weights."""
    if not isinstance(avg_engagement_per_post, Mapping):
        value = float(avg_engagement_per_post)
        return value if math.isfinite(value) and value > 0 else 0.0
    total = 0.0
    for key, value in avg_engagement_per_post.items():
        kind = _PLURALS.get(key) or Kind.parse(key)
        if math.isfinite(value) and value > 0:
            total += config.weight_of(kind) * float(value)
    return total


def public_metrics_raw(
    avg_engagement_per_post: float | Mapping[str, float],
    posts_sampled: int,
    config: ScoringConfig | None = None,
) -> float:
    """Raw influence of an X account the bot never observed, from its recent posts.

    Same unit as observed raw (endorsements), so it can be passed to
    combine_networks next to observed components. Only engagement counts here:
    followers and listings enter through the same bounded audience prior as for
    observed members, because an audience that never responds is not influence.
    """
    cfg = config or ScoringConfig()
    posts = max(int(posts_sampled), 0)
    if not posts:
        return 0.0
    trust = posts / (posts + PUBLIC_POSTS_HALF_TRUST)
    return PUBLIC_ENGAGEMENT_RATE * trust * weighted_engagement(avg_engagement_per_post, cfg)


def score_from_public_metrics(
    followers: float | None,
    listed: float | None,
    avg_engagement_per_post: float | Mapping[str, float],
    posts_sampled: int,
    config: ScoringConfig | None = None,
) -> int:
    """1..100 for an unobserved X account: engagement raw plus the audience prior."""
    cfg = config or ScoringConfig()
    raw = public_metrics_raw(avg_engagement_per_post, posts_sampled, cfg)
    return score_from_raw(with_audience(raw, audience_points(followers, listed, cfg)))
