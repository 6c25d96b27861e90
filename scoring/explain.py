"""Explain one user's score from that user's incoming events alone.

The full rescore stores, per user, `give_rate` = g(raw) / max(S, K): what that
user confers per unit of action strength. At the fixed point a target's raw is
exactly sum over actors of strength(actor -> target) * give_rate(actor), so one
user's breakdown needs only their own incoming events plus their actors' stored
give_rate: no graph walk, cheap enough for every /klout.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime

import numpy as np

from scoring.config import MODEL_VERSION, ScoringConfig
from scoring.kinds import Kind
from scoring.propagation import (
    DAY,
    MAX_EVENT_WEIGHT,
    actor_ceiling,
    decay_factor,
    endorser_weight_scalar,
    quantize,
    saturate,
)
from scoring.records import (
    AccountFacts,
    Explanation,
    Interaction,
    InteractionArrays,
    Profile,
    ScoreArrays,
)
from scoring.scale import audience_points, score_float, score_from_raw, with_audience
from scoring.timeutil import to_epoch

# Machine keys for the dominant driver; templates phrase them.
SUMMARY_KEYS = (
    "no_activity",
    "bot",
    "audience",
    "few_people",
    "many_people",
    *(k.plural for k in Kind if k is not Kind.MESSAGE),
)
# "few_people": one actor brings at least this share, or there are at most 2 actors.
FEW_PEOPLE_SHARE = 0.5
# "many_people": at least this many actors and nobody above MANY_PEOPLE_MAX_SHARE.
MANY_PEOPLE_MIN = 10
MANY_PEOPLE_MAX_SHARE = 0.2

_DEFAULT = ScoringConfig()


def explain_user(
    user: str,
    incoming: Iterable[Interaction],
    give_rate: Mapping[str, float],
    now: float | datetime,
    *,
    profiles: Iterable[Profile] = (),
    previous_score: int | None = None,
    bots: Collection[str] = frozenset(),
    links: Mapping[str, str] | None = None,
    config: ScoringConfig = _DEFAULT,
    top: int = 5,
) -> Explanation:
    """Breakdown of `user`'s score.

    incoming: events whose target is `user` (others are skipped, so passing a
      superset is safe but slower).
    give_rate: actor id -> give_rate from the last full rescore. An actor missing
      from it (new since the rescore) is taken as what the rescore makes of a
      brand-new account: the trust floor as base, no standing, acting only on this user. A rate of
      exactly 0 (what the rescore stores for bots) drops the actor entirely.
    profiles: the user's own profile(s) for the audience prior.
    previous_score: last week's score, for `change`.
    """
    now_s = to_epoch(now)
    link = links or {}
    me = link.get(user, user)
    my_profiles = [p for p in profiles if link.get(p.user, p.user) == me]
    if me in bots or any(p.bot for p in my_profiles):
        return _bot_explanation(me, previous_score, config)

    actors, kinds, ages, weights, platforms = [], [], [], [], []
    for e in incoming:
        if e.target is None or link.get(e.target, e.target) != me:
            continue
        actor = link.get(e.actor, e.actor)
        # A stored give_rate of exactly 0 only ever belongs to a bot (g >= trust_floor > 0).
        if actor == me or actor in bots or e.actor in bots or give_rate.get(actor) == 0:
            continue
        actors.append(actor)
        kinds.append(int(e.kind))
        ages.append(now_s - float(e.ts))
        weights.append(float(e.weight))
        platforms.append(e.platform)
    kind_arr = np.asarray(kinds, dtype=np.int64)
    age = np.asarray(ages, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    kind_weight = config.weight_array()[kind_arr]
    keep = (kind_weight > 0) & (age >= 0) & (age <= config.window_days * DAY)
    keep &= np.isfinite(w) & (w > 0)
    # Same operations in the same order as engine.counted_events, so amounts match bit for bit.
    decay = decay_factor(age[keep], config)
    amount = decay * kind_weight[keep]
    amount *= np.minimum(w[keep], MAX_EVENT_WEIGHT)
    amount = quantize(amount)

    idx = np.flatnonzero(keep)
    per_actor: dict[str, float] = defaultdict(float)
    per_actor_kind: dict[tuple[str, int], float] = defaultdict(float)
    per_actor_platform: dict[tuple[str, str], float] = defaultdict(float)
    counts: dict[str, int] = {}
    decayed: dict[str, float] = {}
    for pos, k in enumerate(idx.tolist()):
        a, label = actors[k], Kind(kinds[k]).label
        per_actor[a] += float(amount[pos])
        per_actor_kind[a, kinds[k]] += float(amount[pos])
        per_actor_platform[a, platforms[k]] += float(amount[pos])
        counts[label] = counts.get(label, 0) + 1
        decayed[label] = decayed.get(label, 0.0) + float(decay[pos] * min(w[k], MAX_EVENT_WEIGHT))

    contribution: dict[str, float] = {}
    for a in sorted(per_actor):
        c = per_actor[a]
        if c <= 0:
            continue
        s = float(saturate(c, config))
        rate = give_rate.get(a)
        if rate is None or not math.isfinite(rate) or rate < 0:
            newcomer = endorser_weight_scalar(0.0, config, config.trust_floor)
            rate = newcomer / max(s, config.out_floor)
        contribution[a] = s * rate
    propagated = math.fsum(contribution.values())
    # The distinct-actor gate, as in the rescore: the shares stay, the total is capped.
    ceiling = float(actor_ceiling(len(contribution), config))
    if propagated > ceiling:
        contribution = {a: c * (ceiling / propagated) for a, c in contribution.items()}
        propagated = ceiling

    by_kind: dict[int, float] = defaultdict(float)
    by_platform: dict[str, float] = defaultdict(float)
    for (a, k), c in per_actor_kind.items():
        if a in contribution:
            by_kind[k] += contribution[a] * c / per_actor[a]
    for (a, p), c in per_actor_platform.items():
        if a in contribution:
            by_platform[p] += contribution[a] * c / per_actor[a]

    followers = _sum_known(p.followers for p in my_profiles)
    listed = _sum_known(p.listed for p in my_profiles)
    points = audience_points(followers, listed, config)
    raw = with_audience(propagated, points)
    score = score_from_raw(raw)
    components = {"propagated": propagated, "audience_points": points}
    for p in sorted(by_platform):
        if by_platform[p] > 0:
            components[f"network:{p}"] = by_platform[p]
    ranked = sorted(contribution.items(), key=lambda kv: (-kv[1], kv[0]))
    shares = [(a, c / propagated) for a, c in ranked] if propagated > 0 else []
    return Explanation(
        user=me,
        score=score,
        tier=config.tier_for(score),
        raw=raw,
        components=components,
        top_contributors=shares[: max(top, 0)],
        counts_by_kind=dict(sorted(counts.items())),
        decayed_by_kind=dict(sorted(decayed.items())),
        change=None if previous_score is None else score - int(previous_score),
        summary_key=_summary_key(propagated, points, shares, by_kind),
        distinct_actors=len(contribution),
        model_version=MODEL_VERSION,
    )


def explain_arrays(
    user: int,
    interactions: InteractionArrays,
    facts: AccountFacts,
    result: ScoreArrays,
    now: float | datetime,
    config: ScoringConfig = _DEFAULT,
    *,
    previous_score: int | None = None,
    names: Sequence[str] | None = None,
    platform_names: Sequence[str] | None = None,
    top: int = 5,
) -> Explanation:
    """explain_user for index `user` of an array rescore (ids are str(index) unless named)."""

    def name(i: int) -> str:
        return names[i] if names is not None else str(i)

    def pname(code: int) -> str:
        return platform_names[code] if platform_names is not None else str(code)

    rows = np.flatnonzero(np.asarray(interactions.target) == user)
    actor = np.asarray(interactions.actor)[rows]
    weight = None if interactions.weight is None else np.asarray(interactions.weight)[rows]
    platform = None if interactions.platform is None else np.asarray(interactions.platform)[rows]
    incoming = [
        Interaction(
            actor=name(int(actor[k])),
            target=name(user),
            kind=Kind(int(interactions.kind[r])),
            ts=float(interactions.ts[r]),
            platform=pname(0 if platform is None else int(platform[k])),
            weight=1.0 if weight is None else float(weight[k]),
        )
        for k, r in enumerate(rows)
    ]
    actors = np.unique(actor)
    rates = {name(int(a)): float(result.give_rate[a]) for a in actors}
    bots = {name(int(a)) for a in actors if facts.is_bot[a]}
    if facts.is_bot[user]:
        bots.add(name(user))
    profile = Profile(
        user=name(user),
        followers=_int_or_none(facts.followers[user]),
        listed=_int_or_none(facts.listed[user]),
    )
    return explain_user(
        name(user),
        incoming,
        rates,
        now,
        profiles=[profile],
        previous_score=previous_score,
        bots=bots,
        config=config,
        top=top,
    )


def _summary_key(
    propagated: float,
    points: float,
    shares: list[tuple[str, float]],
    by_kind: Mapping[int, float],
) -> str:
    if propagated <= 0:
        return "audience" if points > 0 else "no_activity"
    if points >= score_float(propagated) - 1.0:
        return "audience"
    if shares[0][1] >= FEW_PEOPLE_SHARE or len(shares) <= 2:
        return "few_people"
    if len(shares) >= MANY_PEOPLE_MIN and shares[0][1] <= MANY_PEOPLE_MAX_SHARE:
        return "many_people"
    dominant = max(sorted(by_kind), key=lambda k: by_kind[k])
    return Kind(dominant).plural


def _bot_explanation(user: str, previous_score: int | None, config: ScoringConfig) -> Explanation:
    return Explanation(
        user=user,
        score=1,
        tier=config.tier_for(1),
        raw=0.0,
        components={"propagated": 0.0, "audience_points": 0.0},
        top_contributors=[],
        counts_by_kind={},
        decayed_by_kind={},
        change=None if previous_score is None else 1 - int(previous_score),
        summary_key="bot",
        notes=["bot accounts neither give nor receive influence"],
    )


def _sum_known(values: Iterable[float | None]) -> float | None:
    known = [float(v) for v in values if v is not None and math.isfinite(v) and v >= 0]
    return math.fsum(known) if known else None


def _int_or_none(value: float) -> int | None:
    return int(value) if math.isfinite(value) else None
