"""Array kernels: events -> per-pair strengths -> endorsement fixed point.

No Python loop touches an event; everything is numpy/scipy.sparse so the full
rescore of 10M events stays in the seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from scoring.config import ScoringConfig

DAY = 86_400.0
# Event weights are multipliers; clamping keeps sums exact (see QUANTUM).
MAX_EVENT_WEIGHT = 1000.0
# Decayed amounts are rounded to multiples of 2**-16 before summing. Sums of such
# values are exact in float64 (until ~1e11), so the result does not depend on the
# order events arrive in, which floating-point addition otherwise would.
QUANTUM = 2.0**-16


def decay_factor(age_s: np.ndarray, config: ScoringConfig) -> np.ndarray:
    """2 ** (-age / half_life), one new array (ages in seconds)."""
    out = np.divide(age_s, -(config.half_life_days * DAY))
    return np.exp2(out, out=out)


def quantize(values: np.ndarray) -> np.ndarray:
    """Round to multiples of QUANTUM, in place (returns `values`)."""
    values *= 1.0 / QUANTUM  # exact: a power of two
    np.rint(values, out=values)
    values *= QUANTUM
    return values


def saturate(amount: np.ndarray | float, config: ScoringConfig) -> np.ndarray:
    """Per (actor, target) pair: W * log1p(C / W). Linear for a few actions, then
    logarithmic, so the 50th like from the same fan adds little."""
    w = config.pair_saturation
    return w * np.log1p(np.asarray(amount, dtype=np.float64) / w)


def endorser_weight(
    raw: np.ndarray,
    config: ScoringConfig,
    out: np.ndarray | None = None,
    base: np.ndarray | None = None,
) -> np.ndarray:
    """g(raw) = b + d * h(raw), h(x) = (1 + x/gamma)**gamma - 1; b is the earned base
    (member_base), 1 for everyone when not given.

    h is ~x for small x and ~x**gamma for large: standing compounds through the
    graph like PageRank for ordinary members, but sub-linearly for big ones, so a
    closed loop converges to a small value instead of amplifying by 1/(1-d).
    h' <= 1, so the iteration is a contraction with factor <= d.
    """
    gamma, d = config.endorser_exponent, config.damping
    out = np.empty_like(raw) if out is None else out
    if gamma == 1.0:
        np.multiply(raw, d, out=out)
    elif gamma == 0.5:
        np.multiply(raw, 2.0, out=out)
        out += 1.0
        np.sqrt(out, out=out)
        out -= 1.0
        out *= d
    else:
        np.multiply(raw, 1.0 / gamma, out=out)
        out += 1.0
        np.power(out, gamma, out=out)
        out -= 1.0
        out *= d
    if base is None:
        out += 1.0
    else:
        out += base
    np.minimum(out, config.endorser_cap, out=out)
    return out


def endorser_weight_scalar(raw: float, config: ScoringConfig, base: float = 1.0) -> float:
    gamma = config.endorser_exponent
    weight = base + config.damping * ((1.0 + max(raw, 0.0) / gamma) ** gamma - 1.0)
    return min(weight, config.endorser_cap)


@dataclass
class EarnedParts:
    """The earned base's two halves: b = floor + (1 - floor) * evidence (member_base).

    `age_weight` is what an account counts for in someone's audience when deciding
    who is a derived trust seed (seed_audience): min(1, tenure / trust_days)**2 when
    the platform dates the account, 1 when its age is unknown."""

    floor: np.ndarray
    evidence: np.ndarray
    age_weight: np.ndarray

    def base(self, trust: np.ndarray | None = None) -> np.ndarray:
        out = self.evidence.copy()
        if trust is not None:
            out *= trust
        out *= 1.0 - self.floor
        out += self.floor
        return out


def earned_parts(
    actor: np.ndarray,
    target: np.ndarray,
    ts: np.ndarray,
    fans: np.ndarray,
    n: int,
    now: float,
    config: ScoringConfig,
    created: np.ndarray | None = None,
) -> EarnedParts:
    """member_base's floor and evidence per user, kept apart so that the trust of the
    seeds can scale the evidence (engine.score_arrays) without a second pass over the
    events."""
    floor = config.trust_floor
    age_weight = np.ones(n)
    if floor >= 1.0:
        return EarnedParts(np.ones(n), np.zeros(n), age_weight)
    evidence = np.ones(n)
    floors = np.full(n, floor)
    if config.trust_days > 0:
        first = np.full(n, float(now))
        np.minimum.at(first, actor, ts)
        np.minimum.at(first, target, ts)
        if created is not None:
            # fmin ignores NaN (unknown); a creation time after now counts as now.
            np.fmin(first, np.asarray(created, dtype=np.float64), out=first)
        tenure = np.subtract(now, first, out=first)
        tenure *= 1.0 / (config.trust_days * DAY)
        np.minimum(tenure, 1.0, out=tenure)
        known = None
        if created is not None:
            # The platform says the account is young: below the floor of an account
            # whose age is unknown (which may be old), in proportion to its age.
            known = np.isfinite(np.asarray(created, dtype=np.float64))
            floors[known] *= np.maximum(tenure[known], 1.0 / 64)
        # Squared: a week out of trust_days is worth little, so a ring of accounts made
        # for the purpose has not earned a base by trading for a week.
        tenure *= tenure
        evidence *= tenure
        if known is not None:
            age_weight[known] = tenure[known]
    if config.trust_actors > 0:
        evidence *= np.minimum(np.asarray(fans, dtype=np.float64) / config.trust_actors, 1.0)
    return EarnedParts(floors, evidence, age_weight)


def member_base(
    actor: np.ndarray,
    target: np.ndarray,
    ts: np.ndarray,
    fans: np.ndarray,
    n: int,
    now: float,
    config: ScoringConfig,
    created: np.ndarray | None = None,
) -> np.ndarray:
    """Earned base b per user, from the counted events and the account's creation time
    (the teleport of TrustRank), before trust (engine.score_arrays scales the evidence
    by each account's trust from the seeds for the second pass).

    b = floor + (1 - floor) * min(1, tenure / trust_days) * min(1, fans / trust_actors),
    where tenure is now minus the earliest evidence the account existed: its first
    counted event (given or received) or its creation time on the platform (`created`,
    epoch seconds, NaN when unknown), whichever is older. fans is the number of
    distinct others who acted on the user. Both only grow when an event is added, so
    the base never drops when someone acts on you. Neither can be granted by the
    account itself: time cannot be bought (a creation time comes from the platform,
    and a throwaway's is recent), and fans are other accounts.
    """
    return earned_parts(actor, target, ts, fans, n, now, config, created).base()


def trust_seeds(
    graph: PairGraph, age_weight: np.ndarray, config: ScoringConfig,
    given: np.ndarray | None = None,
) -> np.ndarray:
    """1.0 for each trust seed, 0.0 for everyone else.

    Seeds are the accounts the community vouches for (`given`: admins, moderators,
    vouched members, verified linked accounts) and the accounts with an audience of
    their own: at least seed_audience distinct others acted on them, each counted by
    its age weight (a throwaway the platform dates as days old counts for almost
    nothing, an account two years old in full, one of unknown age in full). A closed
    ring cannot make a seed of one of its members by trading among itself unless it
    has more than seed_audience old accounts; a ring of twenty has nineteen.
    """
    n = graph.amount.shape[0]
    seeds = np.zeros(n)
    if config.seed_audience > 0:
        amount = graph.amount
        rows = np.repeat(np.arange(n), np.diff(amount.indptr))
        audience = np.bincount(rows, weights=age_weight[amount.indices], minlength=n)
        seeds[audience >= config.seed_audience] = 1.0
    if given is not None:
        seeds[np.asarray(given, dtype=bool)] = 1.0
    return seeds


def trust_share(trust_raw: np.ndarray, seeds: np.ndarray, config: ScoringConfig) -> np.ndarray:
    """min(1, trust / trust_knee), 1 for a seed: how far an account's earned and
    activity bases count."""
    out = np.minimum(trust_raw / config.trust_knee, 1.0)
    np.maximum(out, seeds, out=out)
    return out


def activity_base(
    graph: PairGraph, standing: np.ndarray, config: ScoringConfig,
    trust: np.ndarray | None = None,
) -> np.ndarray:
    """Base an actor earns by acting on accounts that others already value.

    Most real fans are never acted on themselves (80% of Higgs actors), so the earned
    base gives them the floor, like a throwaway. What they do have is the company they
    keep: they respond to accounts with standing among *other* people. Each distinct
    target t counts q_t = min(1, P_t / established_raw) * min(1, P_t / activity_knee),
    P_t being t's standing before this base is known (the first pass of the
    propagation): in proportion to P_t above the knee, to its square below. Targets of
    middling standing (half an endorsement and up) count, while the floor-level
    standing a ring of throwaways gives its members counts for almost nothing (200 of
    them, each acting on the other 199, earn less than the trust floor). The base is
    activity_trust * min(1, sum of q / activity_targets), and the account's base is
    the larger of this and its earned base (member_base).
    A throwaway acting on one nobody, or a ring of new accounts acting on each other
    (whose standing among themselves stays near the floor's clique value), earns
    almost nothing; one retweet of an established account earns half of it.
    """
    cap = config.activity_trust
    amount = graph.amount
    quality = np.minimum(standing / config.established_raw, 1.0)
    quality *= np.minimum(standing / config.activity_knee, 1.0)
    if trust is not None:
        # Standing counts only as far as trust from the seeds reaches it: a closed ring
        # of old accounts has standing among itself and none of the seeds' trust.
        quality *= trust
    rows = np.repeat(np.arange(amount.shape[0]), np.diff(amount.indptr))
    per_pair = quality[rows]
    # (as float64: a bincount of nothing is int)
    breadth: np.ndarray = np.bincount(
        amount.indices, weights=per_pair, minlength=amount.shape[1]
    ).astype(np.float64, copy=False)
    # Only an actor with at least two distinct targets earns it: acting on the one
    # account you promote (a sybil star's own target) is no evidence of anything.
    targets = np.bincount(amount.indices, minlength=amount.shape[1])
    breadth[targets < 2] = 0.0
    breadth *= 1.0 / config.activity_targets
    np.minimum(breadth, 1.0, out=breadth)
    breadth *= cap
    return breadth


def actor_ceiling(distinct: np.ndarray | float, config: ScoringConfig) -> np.ndarray:
    """The distinct-actor gate: raw <= actor_gate * n**gate_exponent for n distinct
    actors, so rising high takes many different people, whoever they are."""
    n = np.asarray(distinct, dtype=np.float64)
    return config.actor_gate * n**config.gate_exponent


@dataclass
class PairGraph:
    """pairs[i, j] = saturated strength of everything actor j did to target i."""

    amount: sp.csr_matrix  # decayed weighted sum C per pair (rows target, cols actor)
    strength: np.ndarray  # s = saturate(C), aligned with amount.data
    out_strength: np.ndarray  # per user: sum of s over the pairs they act in
    denominator: np.ndarray  # per user: max(out_strength, out_floor)


def pair_graph(
    actor: np.ndarray, target: np.ndarray, amount: np.ndarray, n: int, config: ScoringConfig
) -> PairGraph:
    coo = sp.coo_matrix((amount, (target, actor)), shape=(n, n))
    csr = coo.tocsr()  # sums duplicates
    csr.sum_duplicates()
    csr.eliminate_zeros()
    csr.sort_indices()
    strength = saturate(csr.data, config)
    out_strength = np.bincount(csr.indices, weights=strength, minlength=n)
    denominator = np.maximum(out_strength, config.out_floor)
    return PairGraph(csr, strength, out_strength, denominator)


@dataclass
class FixedPoint:
    raw: np.ndarray  # = matrix @ weight
    weight: np.ndarray  # endorser weight g(previous iterate)
    iterations: int
    converged: bool


def transfer_matrix(graph: PairGraph) -> sp.csr_matrix:
    """M[i, j] = s_ij / max(S_j, K): the share of j's standing that reaches i."""
    amount = graph.amount
    data = graph.strength / graph.denominator[amount.indices]
    return sp.csr_matrix((data, amount.indices, amount.indptr), shape=amount.shape)


def components(matrix: sp.csr_matrix) -> np.ndarray:
    """Weakly connected component label of each user (solve's stopping rule)."""
    return csgraph.connected_components(matrix, directed=True, connection="weak")[1]


def solve(
    matrix: sp.csr_matrix,
    config: ScoringConfig,
    base: np.ndarray | None = None,
    start: np.ndarray | None = None,
    ceiling: np.ndarray | None = None,
    labels: np.ndarray | None = None,
) -> FixedPoint:
    """raw = M @ g(raw), iterated from raw = 0 or from `start`, a point below the fixed
    point (monotone increasing, so it converges from below and the fixed point is
    unique for this contraction). `base` is the base per user (member_base); 1 for
    everyone when not given. `ceiling` (the distinct-actor gate) bounds each raw; a
    minimum with a constant keeps the map monotone and a contraction.

    Each weakly connected component stops on its own: once no member of it moves by
    more than tol * (1 + raw), its weights are frozen (so its raws stay exactly those
    of that iteration). A component's result is then bit-identical whatever other,
    unrelated components are scored with it. `labels` are the components, numbered
    0..k-1 (computed here when not given)."""
    n = matrix.shape[0]
    # A 2-D base solves several columns at once (the standing and the seeds' trust):
    # one pass over the matrix per iteration serves them all.
    shape = (n,) if base is None or np.ndim(base) == 1 else (n, np.shape(base)[1])
    raw = np.zeros(shape) if start is None else start.copy()
    weight = np.ones(shape)
    fresh = np.empty(shape)
    scratch = np.empty(shape)
    cap = ceiling
    if ceiling is not None and ceiling.ndim < len(shape):
        cap = ceiling[:, None]  # one ceiling for every column
    tol = config.tolerance
    label = components(matrix) if labels is None else labels
    order = np.argsort(label, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(label[order]) != 0]) if n else order
    moving = np.ones(n, dtype=bool)
    converged = False
    iterations = 0
    for iterations in range(1, config.max_iterations + 1):  # noqa: B007 - reported
        endorser_weight(raw, config, out=fresh, base=base)
        np.copyto(weight, fresh, where=moving if len(shape) == 1 else moving[:, None])
        new = np.asarray(matrix @ weight)
        if cap is not None:
            np.minimum(new, cap, out=new)
        np.subtract(new, raw, out=scratch)
        np.abs(scratch, out=scratch)
        scratch /= new + 1.0
        raw = new
        if n == 0:
            converged = True
            break
        moved = scratch if len(shape) == 1 else scratch.max(axis=1)
        settled = np.maximum.reduceat(moved[order], starts) <= tol
        moving &= ~settled[label]  # labels are 0..k-1, as reduceat's groups
        if not moving.any():
            converged = True
            break
    return FixedPoint(raw, weight, iterations, converged)



def iterations_bound(config: ScoringConfig) -> int:
    """Worst-case iterations for the contraction to reach the tolerance."""
    if config.damping <= 0:
        return 2
    return math.ceil(math.log(config.tolerance) / math.log(config.damping)) + 2
