"""Deterministic synthetic communities for benchmarks, demos and calibration.

Shaped like real chat communities: activity is heavy-tailed (a few members do
most of the talking), people who talk more get more responses, and part of
everyone's attention goes to a small circle of regulars rather than to the
whole server. Pure: a seed in, arrays out.
"""

from __future__ import annotations

import numpy as np

from scoring.kinds import Kind
from scoring.records import InteractionArrays

# 2026-11-01T00:00:00Z: a fixed default so generated data never depends on the clock.
DEFAULT_NOW = 1_793_491_200.0
WEEK = 7 * 86_400.0

# Share of events by kind. Messages carry no target.
KIND_MIX: dict[Kind, float] = {
    Kind.MESSAGE: 0.25,
    Kind.REACTION: 0.26,
    Kind.REPLY: 0.19,
    Kind.MENTION: 0.07,
    Kind.LIKE: 0.09,
    Kind.RETWEET: 0.05,
    Kind.QUOTE: 0.02,
    Kind.FOLLOW: 0.07,
}
# Pareto shape of activity: ~1.2 gives the familiar "1% post half the messages".
ACTIVITY_SHAPE = 1.2
# Share of targeted actions that go to the actor's circle instead of the whole server.
LOCAL_SHARE = 0.4
CIRCLE_SPAN = 40


def power_law_community(
    n_users: int,
    n_events: int,
    seed: int = 0,
    weeks: int = 8,
    now: float = DEFAULT_NOW,
) -> InteractionArrays:
    """`n_events` events among `n_users` members over the `weeks` before `now`."""
    rng = np.random.default_rng(seed)
    activity = rng.pareto(ACTIVITY_SHAPE, n_users) + 1.0
    # People who post more are answered more, with plenty of individual variation.
    appeal = activity**0.8 * rng.lognormal(0.0, 0.8, n_users)
    actor = _sample(rng, activity, n_events)
    global_target = _sample(rng, appeal, n_events)
    # A member's circle: neighbours in a random ring, so circles overlap like friend groups.
    ring = rng.permutation(n_users)
    position = np.empty(n_users, dtype=np.int64)
    position[ring] = np.arange(n_users)
    offset = rng.integers(1, CIRCLE_SPAN + 1, n_events) * rng.choice([-1, 1], n_events)
    local_target = ring[(position[actor] + offset) % max(n_users, 1)]
    target = np.where(rng.random(n_events) < LOCAL_SHARE, local_target, global_target)
    kinds = np.array([int(k) for k in KIND_MIX], dtype=np.uint8)
    mix = np.array(list(KIND_MIX.values()))
    kind = kinds[_sample(rng, mix, n_events)]
    target = np.where(kind == Kind.MESSAGE, -1, target)
    ts = now - rng.random(n_events) * weeks * WEEK
    return InteractionArrays(
        actor=actor.astype(np.int32),
        target=target.astype(np.int32),
        kind=kind,
        ts=ts,
        n_users=n_users,
    )


def _sample(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    cdf = np.cumsum(weights, dtype=np.float64)
    cdf /= cdf[-1]
    picks = np.searchsorted(cdf, rng.random(size), side="right")
    return np.minimum(picks, len(weights) - 1).astype(np.int64)
