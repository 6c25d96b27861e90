"""Full rescore: arrays in, arrays out; plus the string-id convenience layer.

Pipeline (docs/scoring.md has the formula with every constant):
  events -> filter (window, self, bots, zero weight) -> decayed weighted amount
  -> per (actor, target) pair: sum, saturate -> share of the actor's outflow
  -> endorsement fixed point -> audience prior -> fixed log scale -> 1..100.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

import numpy as np
import scipy.sparse as sp

from scoring.config import MODEL_VERSION, ScoringConfig
from scoring.explain import explain_arrays, explain_user
from scoring.kinds import Kind
from scoring.propagation import (
    DAY,
    MAX_EVENT_WEIGHT,
    PairGraph,
    activity_base,
    actor_ceiling,
    components,
    decay_factor,
    earned_parts,
    pair_graph,
    quantize,
    solve,
    transfer_matrix,
    trust_seeds,
    trust_share,
)
from scoring.records import (
    AccountFacts,
    Explanation,
    Interaction,
    InteractionArrays,
    Profile,
    ScoreArrays,
    UserScore,
)
from scoring.scale import audience_points_array, scores_from_raw, with_audience_array
from scoring.timeutil import to_epoch

__all__ = [
    "AccountFacts",
    "Explanation",
    "Interaction",
    "InteractionArrays",
    "Profile",
    "ScoreArrays",
    "UserScore",
    "counted_events",
    "explain_arrays",
    "explain_user",
    "score_arrays",
    "score_events",
]

_DEFAULT = ScoringConfig()


def counted_events(
    interactions: InteractionArrays, facts: AccountFacts, now: float, config: ScoringConfig
) -> tuple[np.ndarray, np.ndarray]:
    """(mask of events that count, their quantized decayed weighted amount).

    An event counts if it has a target other than the actor, neither side is a
    bot, it happened in [now - window, now], and its kind and weight are > 0.
    Events after `now` are ignored so that scoring "as of" a past time is exact.
    """
    actor = np.asarray(interactions.actor)
    target = np.asarray(interactions.target)
    kind = np.asarray(interactions.kind)
    ts = np.asarray(interactions.ts, dtype=np.float64)
    _check_shapes(interactions, facts)
    if kind.size and (int(kind.max()) >= len(Kind) or int(kind.min()) < 0):
        raise ValueError(f"kind codes must be 0..{len(Kind) - 1}")
    kind_weight = config.weight_array()[kind]
    age = now - ts
    keep = (target >= 0) & (target != actor) & (kind_weight > 0)
    keep &= (age >= 0) & (age <= config.window_days * DAY)
    if interactions.weight is not None:
        w = np.asarray(interactions.weight, dtype=np.float64)
        keep &= np.isfinite(w) & (w > 0)
    is_bot = np.asarray(facts.is_bot, dtype=bool)
    if is_bot.any():
        safe_target = np.where(target >= 0, target, 0)
        keep &= ~is_bot[actor] & ~is_bot[safe_target]
    # Same operations, in the same order, as explain_user: amounts match bit for bit.
    amount = decay_factor(age[keep], config)
    amount *= kind_weight[keep]
    if interactions.weight is not None:
        w_kept = np.asarray(interactions.weight, dtype=np.float64)[keep]
        amount *= np.minimum(w_kept, MAX_EVENT_WEIGHT)
    return keep, quantize(amount)


def score_arrays(
    interactions: InteractionArrays,
    facts: AccountFacts | None,
    now: float | datetime,
    config: ScoringConfig = _DEFAULT,
    *,
    on_stage: Callable[[str], None] | None = None,
) -> ScoreArrays:
    """Score every user. Deterministic and independent of event order.

    `on_stage`, if given, is called with "aggregate", "propagate" and "map" as each
    stage ends, so a caller can time them (this module never reads a clock).
    """
    problems = config.validate()
    if problems:
        raise ValueError("invalid scoring config: " + "; ".join(problems))
    now_s = to_epoch(now)
    n = int(interactions.n_users)
    facts = facts if facts is not None else AccountFacts.unknown(n)
    keep, amount = counted_events(interactions, facts, now_s, config)
    actor = np.asarray(interactions.actor)[keep]
    target = np.asarray(interactions.target)[keep]
    graph = pair_graph(actor, target, amount, n, config)
    matrix = transfer_matrix(graph)
    distinct = np.diff(graph.amount.indptr).astype(np.int64)
    ts = np.asarray(interactions.ts, dtype=np.float64)[keep]
    earned = earned_parts(actor, target, ts, distinct, n, now_s, config, facts.created)
    del ts
    seeds = trust_seeds(graph, earned.age_weight, config, facts.seed)
    if on_stage is not None:
        on_stage("aggregate")
    ceiling = actor_ceiling(distinct, config)
    labels = components(matrix)
    if seeds.any():
        # First pass, two columns at once: standing from the earned bases (before trust),
        # and the seeds' trust (TrustRank: a base of 1 on the seeds, 0 elsewhere).
        # Trust past trust_knee counts no more (tau is 1 there), so it is capped there:
        # past the cap it is settled at once.
        caps = np.column_stack([ceiling, np.minimum(ceiling, config.trust_knee)])
        first = solve(matrix, config, np.column_stack([earned.base(), seeds]),
                      ceiling=caps, labels=labels)
        standing = first.raw[:, 0].copy()
        trust = trust_share(first.raw[:, 1], seeds, config)
    else:
        # No anchor at all (a small server whose admins are not in its events and that
        # nobody vouched for): nothing tells a ring from a community, so everyone's
        # bases count in full, as in 2026.12-1 (docs/scoring.md, "Trust seeds").
        first = solve(matrix, config, earned.base(), ceiling=ceiling, labels=labels)
        standing = first.raw
        trust = np.ones(n)
    # Second pass: the earned base counts as far as the seeds' trust reaches an account,
    # and actors who respond to trusted accounts with standing earn a base of their own.
    base = np.maximum(earned.base(trust), activity_base(graph, standing, config, trust))
    fixed = solve(matrix, config, base, start=standing, ceiling=ceiling, labels=labels)
    fixed.iterations += first.iterations
    if on_stage is not None:
        on_stage("propagate")
    propagated = fixed.raw
    # The weights that produced `propagated`, so raw_i == sum_j s_ji * give_rate_j exactly
    # and explain_user reproduces the rescore instead of one iteration past it.
    give_rate = fixed.weight / graph.denominator
    is_bot = np.asarray(facts.is_bot, dtype=bool)
    give_rate[is_bot] = 0.0
    strength_csr = sp.csr_matrix(
        (graph.strength, graph.amount.indices, graph.amount.indptr), shape=(n, n)
    )
    received = np.asarray(strength_csr.sum(axis=1)).ravel()

    prior = audience_points_array(
        np.asarray(facts.followers, dtype=np.float64),
        np.asarray(facts.listed, dtype=np.float64),
        config,
    )
    prior[is_bot] = 0.0
    raw = with_audience_array(propagated, prior)
    raw[is_bot] = 0.0
    by_platform = _split_by_platform(interactions, keep, amount, graph, give_rate, propagated)
    score = scores_from_raw(raw)
    if on_stage is not None:
        on_stage("map")
    return ScoreArrays(
        raw=raw,
        score=score,
        propagated=propagated,
        prior=prior,
        received_weight=received,
        distinct_actors=distinct,
        give_rate=give_rate,
        out_strength=graph.out_strength,
        iterations=fixed.iterations,
        converged=fixed.converged,
        by_platform=by_platform,
        model_version=MODEL_VERSION,
        base=base,
        earned_base=earned.base(),
        trust=trust,
    )


def _split_by_platform(
    interactions: InteractionArrays,
    keep: np.ndarray,
    amount: np.ndarray,
    graph: PairGraph,
    give_rate: np.ndarray,
    propagated: np.ndarray,
) -> np.ndarray:
    """Each pair's contribution split in proportion to the amount per platform."""
    n = interactions.n_users
    if interactions.platform is None:
        return propagated.reshape(n, 1).copy()
    platform = np.asarray(interactions.platform)[keep].astype(np.int64)
    # No shortcut for a single platform: the same formula whatever the number of
    # platforms keeps a user's parts bit-identical when unrelated events add one.
    n_platforms = int(np.asarray(interactions.platform).max(initial=0)) + 1
    total = graph.amount
    # contribution per unit of amount on each pair: s * give_rate_actor / C
    per_unit = sp.csr_matrix(
        (graph.strength * give_rate[total.indices] / total.data, total.indices, total.indptr),
        shape=total.shape,
    )
    actor = np.asarray(interactions.actor)[keep]
    target = np.asarray(interactions.target)[keep]
    out = np.zeros((n, n_platforms))
    for code in np.unique(platform):
        sel = platform == code
        part = sp.coo_matrix((amount[sel], (target[sel], actor[sel])), shape=(n, n)).tocsr()
        out[:, code] = np.asarray(part.multiply(per_unit).sum(axis=1)).ravel()
    # Where the distinct-actor gate capped the total, every part is capped in proportion.
    total = out.sum(axis=1)
    capped = total > propagated
    out[capped] *= (propagated[capped] / total[capped])[:, None]
    return out


def _check_shapes(interactions: InteractionArrays, facts: AccountFacts) -> None:
    n = int(interactions.n_users)
    size = len(interactions)
    arrays = {"target": interactions.target, "kind": interactions.kind, "ts": interactions.ts}
    if interactions.weight is not None:
        arrays["weight"] = interactions.weight
    if interactions.platform is not None:
        arrays["platform"] = interactions.platform
    for name, arr in arrays.items():
        if np.asarray(arr).shape != (size,):
            raise ValueError(f"interactions.{name} must have shape ({size},)")
    if interactions.platform is not None and size and np.asarray(interactions.platform).min() < 0:
        raise ValueError("interactions.platform codes must be >= 0")
    for name in ("is_bot", "followers", "listed", "created", "seed"):
        value = getattr(facts, name)
        if value is not None and np.asarray(value).shape != (n,):
            raise ValueError(f"facts.{name} must have shape ({n},)")
    if size:
        actor = np.asarray(interactions.actor)
        target = np.asarray(interactions.target)
        if actor.min() < 0 or actor.max() >= n or target.min() < -1 or target.max() >= n:
            raise ValueError(f"user indices must be in 0..{n - 1} (target may be -1)")


# ---------------------------------------------------------------------------
# Convenience layer over string ids.


def score_events(
    events: Iterable[Interaction],
    profiles: Iterable[Profile],
    now: float | datetime,
    config: ScoringConfig = _DEFAULT,
    *,
    links: Mapping[str, str] | None = None,
    community: str | None = None,
) -> list[UserScore]:
    """Score everyone who appears in `events` or `profiles`, highest first.

    `links` maps an account id to the person id it belongs to (e.g. an X account
    linked to a Discord account), so one person gets one score combining both
    networks; components keep the per-network parts ("network:<platform>").
    `community`, when given, keeps only events of that community. Components:
    "propagated" (raw from others' actions), "audience_points" (the prior, in
    score points) and "network:<platform>" for each network that contributed. Accounts
    flagged bot are left out of the result (they neither give nor receive).
    """
    now_s = to_epoch(now)
    link = links or {}
    event_list = [e for e in events if community is None or e.community == community]
    profile_list = list(profiles)
    ids: set[str] = set()
    platforms: set[str] = set()
    for e in event_list:
        ids.add(link.get(e.actor, e.actor))
        if e.target is not None:
            ids.add(link.get(e.target, e.target))
        platforms.add(e.platform)
    for p in profile_list:
        ids.add(link.get(p.user, p.user))
    users = sorted(ids)
    index = {u: i for i, u in enumerate(users)}
    platform_names = sorted(platforms)
    platform_code = {p: i for i, p in enumerate(platform_names)}
    arrays = _arrays_from_events(event_list, index, platform_code, link)
    facts = _facts_from_profiles(profile_list, index, link)
    result = score_arrays(arrays, facts, now_s, config)
    out = []
    for i, user in enumerate(users):
        if facts.is_bot[i]:
            continue
        components = {
            "propagated": float(result.propagated[i]),
            "audience_points": float(result.prior[i]),
        }
        # Only networks where the user earned something, so the keys do not depend
        # on unrelated events elsewhere in the input.
        for code, name in enumerate(platform_names):
            part = float(result.by_platform[i, code]) if code < result.by_platform.shape[1] else 0.0
            if part > 0:
                components[f"network:{name}"] = part
        score = int(result.score[i])
        out.append(
            UserScore(
                user=user,
                score=score,
                tier=config.tier_for(score),
                raw=float(result.raw[i]),
                components=components,
                model_version=result.model_version,
                give_rate=float(result.give_rate[i]),
                distinct_actors=int(result.distinct_actors[i]),
            )
        )
    out.sort(key=lambda s: (-s.score, -s.raw, s.user))
    return out


def _arrays_from_events(
    events: list[Interaction],
    index: Mapping[str, int],
    platform_code: Mapping[str, int],
    link: Mapping[str, str],
) -> InteractionArrays:
    m = len(events)
    actor = np.empty(m, dtype=np.int64)
    target = np.empty(m, dtype=np.int64)
    kind = np.empty(m, dtype=np.uint8)
    ts = np.empty(m, dtype=np.float64)
    weight = np.empty(m, dtype=np.float64)
    platform = np.empty(m, dtype=np.int64)
    for k, e in enumerate(events):
        actor[k] = index[link.get(e.actor, e.actor)]
        target[k] = -1 if e.target is None else index[link.get(e.target, e.target)]
        kind[k] = int(e.kind)
        ts[k] = e.ts
        weight[k] = e.weight
        platform[k] = platform_code[e.platform]
    return InteractionArrays(actor, target, kind, ts, len(index), weight, platform)


def _facts_from_profiles(
    profiles: list[Profile], index: Mapping[str, int], link: Mapping[str, str]
) -> AccountFacts:
    """Linked accounts add their audiences; any bot account makes the person a bot; the
    oldest linked account's creation time is the person's; any seed account makes the
    person a seed."""
    facts = AccountFacts.unknown(len(index))
    created = np.full(len(index), np.nan)
    facts.created = created
    seed = np.zeros(len(index), dtype=bool)
    facts.seed = seed
    for p in profiles:
        i = index[link.get(p.user, p.user)]
        facts.is_bot[i] |= bool(p.bot)
        seed[i] |= bool(p.seed)
        if p.created is not None and math.isfinite(p.created):
            created[i] = np.fmin(created[i], p.created)
        for name in ("followers", "listed"):
            value = getattr(p, name)
            if value is not None and math.isfinite(value) and value >= 0:
                arr = getattr(facts, name)
                arr[i] = value if math.isnan(arr[i]) else arr[i] + value
    return facts
