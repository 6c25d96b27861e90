"""Real-data evaluation of the scoring model: loaders, attacks, metrics and targets.

Used by bench/bench_realworld.py (full data, printed tables) and by
tests/scoring/test_realworld.py (a sample cut at test time, asserting the targets).
The data sets live outside the repository (see REALWORLD_DIR's README) and are read
from there; nothing here copies them.

The loaders build `InteractionArrays` directly with numpy (not the JSONL of
bench/realdata.py) because the evaluation scores the same data a dozen times.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.stats import spearmanr

from bench.realdata import CONGRESS_PATH, HIGGS_PATH
from scoring import AccountFacts, InteractionArrays, Kind, ScoringConfig, score_arrays
from scoring.engine import counted_events
from scoring.synthetic import DEFAULT_NOW, power_law_community

DAY = 86_400.0
YEAR = 365 * DAY
HIGGS_KINDS = {b"RT": Kind.RETWEET, b"MT": Kind.MENTION, b"RE": Kind.REPLY}
# The Congress file has no timestamps: every interaction is stamped at its end.
CONGRESS_NOW = 1_654_041_600.0  # 2022-06-01T00:00:00Z


@dataclass
class World:
    """A scored population: events, account facts, the scoring time, and how many of
    the users (indices 0..n_real-1) are real; attacks append users after them."""

    name: str
    events: InteractionArrays
    facts: AccountFacts
    now: float
    n_real: int

    @property
    def has_created(self) -> bool:
        return self.facts.created is not None and bool(np.isfinite(self.facts.created).any())


def _arrays(actor, target, kind, ts, n, weight=None) -> InteractionArrays:
    return InteractionArrays(
        np.asarray(actor, dtype=np.int64), np.asarray(target, dtype=np.int64),
        np.asarray(kind, dtype=np.uint8), np.asarray(ts, dtype=np.float64), int(n),
        None if weight is None else np.asarray(weight, dtype=np.float64),
    )  # fmt: skip


def load_higgs(path: Path = HIGGS_PATH, *, max_rows: int | None = None) -> World:
    """SNAP Higgs activity: `A B ts RT|MT|RE` rows. The MT row every reply carries at the
    same second (its implicit @-mention) is dropped, so a reply counts once, as a reply.
    Scored one second after the last row; no account facts are known."""
    with gzip.open(path, "rb") as handle:
        lines = handle.read().split(b"\n", max_rows)[: max_rows] if max_rows else (
            handle.read().splitlines())
    cols = np.array([ln.split() for ln in lines if ln.strip()], dtype=object)
    a = cols[:, 0].astype(np.int64)
    b = cols[:, 1].astype(np.int64)
    ts = cols[:, 2].astype(np.int64)
    code = cols[:, 3]
    kind = np.empty(len(code), dtype=np.uint8)
    for name, k in HIGGS_KINDS.items():
        kind[code == name] = int(k)
    # key (a, b, ts) packed in one int: ids < 2**19, seconds into the week < 2**20.
    key = (a << 40) | (b << 20) | (ts - ts.min())
    is_re = kind == int(Kind.REPLY)
    drop = (kind == int(Kind.MENTION)) & np.isin(key, key[is_re])
    a, b, ts, kind = a[~drop], b[~drop], ts[~drop], kind[~drop]
    ids, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    n = len(ids)
    events = _arrays(inverse[: len(a)], inverse[len(a):], kind, ts, n)
    return World("higgs", events, AccountFacts.unknown(n), float(ts.max()) + 1.0, n)


def load_congress(path: Path = CONGRESS_PATH, *, verified_seeds: bool = True) -> World:
    """SNAP congress-twitter: weighted directed edges, weights are each source's share
    of its interactions. The share times the source's total (1 / its smallest share)
    gives back the interaction count, which becomes the event weight of one mention.
    The data has no times: see below."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))[0]
    actor, target, weight = [], [], []
    for source, (targets, shares) in enumerate(zip(data["outList"], data["outWeight"],
                                                   strict=True)):
        if not shares:
            continue
        total = 1.0 / min(shares)
        for t, share in zip(targets, shares, strict=True):
            if t != source:
                actor.append(source)
                target.append(t)
                weight.append(max(1.0, round(share * total)))
    n = len(data["usernameList"])
    # Spread evenly over the 12 weeks before the end, like the months the data covers,
    # so the accounts have the tenure they had (a single instant would give them none).
    ts = CONGRESS_NOW - (np.arange(len(actor)) * 0.618034 % 1.0) * 84 * DAY
    events = _arrays(actor, target, np.full(len(actor), int(Kind.MENTION)), ts, n, weight)
    facts = AccountFacts.unknown(n)
    if verified_seeds:
        # Every member's X account is a verified, official account: the trust seeds a
        # bot would take from verified linked accounts (docs/scoring.md, "Trust seeds").
        facts.seed = np.ones(n, dtype=bool)
    return World("congress", events, facts, CONGRESS_NOW + 1.0, n)


def synthetic_world(n_users: int = 20_000, n_events: int = 200_000, seed: int = 0) -> World:
    """The synthetic power-law community, with accounts 1-6 years old as on Discord."""
    events = power_law_community(n_users, n_events, seed=seed)
    facts = AccountFacts.unknown(n_users)
    facts.created = DEFAULT_NOW - np.random.default_rng(seed).uniform(1, 6, n_users) * YEAR
    return World("synthetic", events, facts, DEFAULT_NOW, n_users)


def small_discord_server(*, with_created: bool = True) -> World:
    """4 members, 9 replies and 9 reactions over the last week; member 0 is the most
    responded-to. Accounts are 3 years old (Discord ids carry their creation time)."""
    replies = [(1, 0), (2, 0), (3, 0), (1, 0), (2, 0), (0, 1), (0, 2), (3, 1), (1, 2)]
    reactions = [(1, 0), (2, 0), (3, 0), (2, 0), (0, 1), (0, 3), (2, 1), (3, 2), (1, 3)]
    pairs = replies + reactions
    kinds = [int(Kind.REPLY)] * len(replies) + [int(Kind.REACTION)] * len(reactions)
    ts = DEFAULT_NOW - (np.arange(len(pairs)) + 0.5) / len(pairs) * 7 * DAY
    a, t = zip(*pairs, strict=True)
    facts = AccountFacts.unknown(4)
    if with_created:
        facts.created = np.full(4, DEFAULT_NOW - 3 * YEAR)
    # Every Discord server has an owner, a trust seed the bot knows for free; here the
    # owner is member 3, the least responded-to, so the seed does not favour the top.
    facts.seed = np.array([False, False, False, True])
    return World("discord-4", _arrays(a, t, kinds, ts, 4), facts, DEFAULT_NOW, 4)


# ---------------------------------------------------------------------------
# Scoring and reference rankings


def score(world: World, config: ScoringConfig, extra: InteractionArrays | None = None,
          n_users: int | None = None, created: np.ndarray | None = None):
    """Score the world with `extra` events appended (users beyond n_real get no facts
    unless `created` gives their creation times)."""
    events = world.events if extra is None else concat(world.events, extra, n_users)
    n = events.n_users
    facts = world.facts
    if n != len(facts.is_bot) or created is not None:
        facts = AccountFacts.unknown(n)
        if world.facts.created is not None:
            facts.created[: world.n_real] = world.facts.created[: world.n_real]
        if world.facts.seed is not None:
            facts.seed = np.zeros(n, dtype=bool)
            facts.seed[: world.n_real] = world.facts.seed[: world.n_real]
        if created is not None:
            facts.created[world.n_real:] = created
    return score_arrays(events, facts, world.now, config)


def concat(base: InteractionArrays, extra: InteractionArrays, n_users: int | None
           ) -> InteractionArrays:
    def cat(name: str, fill: float) -> np.ndarray | None:
        x, y = getattr(base, name), getattr(extra, name)
        if x is None and y is None:
            return None
        x = np.full(len(base), fill) if x is None else x
        y = np.full(len(extra), fill) if y is None else y
        return np.concatenate([x, y])

    n = max(base.n_users, extra.n_users, n_users or 0)
    return InteractionArrays(
        np.concatenate([base.actor, extra.actor]).astype(np.int64),
        np.concatenate([base.target, extra.target]).astype(np.int64),
        np.concatenate([base.kind, extra.kind]).astype(np.uint8),
        np.concatenate([base.ts, extra.ts]).astype(np.float64), n, cat("weight", 1.0))


def pagerank(world: World, config: ScoringConfig, damping: float = 0.85,
             tol: float = 1e-12) -> tuple[np.ndarray, int]:
    """Classic converged PageRank over the counted, decayed amounts (dangling mass
    spread uniformly): the reference ranking."""
    keep, amount = counted_events(world.events, world.facts, world.now, config)
    n = world.events.n_users
    m = sp.coo_matrix((amount, (world.events.target[keep], world.events.actor[keep])),
                      shape=(n, n)).tocsr()
    out = np.asarray(m.sum(axis=0)).ravel()
    dangling = out == 0
    m = m @ sp.diags(np.where(dangling, 0.0, 1.0 / np.where(dangling, 1.0, out)))
    x = np.full(n, 1.0 / n)
    for it in range(1, 1000):
        new = damping * (m @ x) + (damping * x[dangling].sum() + 1 - damping) / n
        if np.abs(new - x).sum() < tol:
            return new, it
        x = new
    return x, 1000


# ---------------------------------------------------------------------------
# Attacks


@dataclass
class Attack:
    name: str
    events: InteractionArrays
    n_users: int
    # the users whose lift is judged ("target") and the bought accounts ("members")
    targets: np.ndarray
    members: np.ndarray
    created: np.ndarray | None = None
    single_action: bool = False


def _acts(actor, target, kind: Kind, ts) -> InteractionArrays:
    actor = np.asarray(actor, dtype=np.int64)
    return _arrays(actor, target, np.full(actor.size, int(kind)), ts,
                   int(max(actor.max(initial=0), np.max(target, initial=0))) + 1)


def _spread(count: int, newest: float, span: float) -> np.ndarray:
    return newest - (np.arange(count) + 0.5) / count * span


def _ring_events(members: np.ndarray, per_pair: int, newest: float, span: float
                 ) -> InteractionArrays:
    a, t = np.meshgrid(members, members)
    off = a != t
    a, t = np.repeat(a[off], per_pair), np.repeat(t[off], per_pair)
    ts = newest - np.tile((np.arange(per_pair) + 0.5) / per_pair * span, off.sum())
    return _acts(a, t, Kind.REPLY, ts)


def low_ranked(world: World, result, count: int = 1, quantile: float = 0.2) -> np.ndarray:
    """`count` acted-on real users around the `quantile` of raw from the bottom."""
    real = np.arange(world.n_real)
    acted = real[result.distinct_actors[: world.n_real] > 0]
    order = acted[np.lexsort((acted, result.raw[acted]))]
    start = int(quantile * len(order))
    return order[start: start + count]


def attacks(world: World, result) -> list[Attack]:
    n, now = world.n_real, world.now
    week = 7 * DAY
    out = []
    star = low_ranked(world, result)[0]
    sybils = np.arange(n, n + 30)
    out.append(Attack(
        "sybil star: 30 fresh accounts x 10 mentions", _acts(
            np.repeat(sybils, 10), np.full(300, star), Kind.MENTION, _spread(300, now, DAY)),
        n + 30, np.array([star]), sybils, np.full(30, now - DAY)))
    ring = np.arange(n, n + 20)
    out.append(Attack(
        "new ring: 20 fresh accounts, a reply a day for a week", _ring_events(
            ring, 7, now, week), n + 20, ring, ring, np.full(20, now - week)))
    out.append(Attack(
        "aged ring: 20 accounts created 3 years ago, a week", _ring_events(
            ring, 7, now, week), n + 20, ring, ring, np.full(20, now - 3 * YEAR)))
    real_ring = low_ranked(world, result, 20)
    out.append(Attack(
        "real ring: 20 real low-ranked users, 3 replies each way in a day",
        _ring_events(real_ring, 3, now, DAY), n, real_ring, np.array([], dtype=np.int64)))
    # The biggest account (of the top 20) that acts on the fewest others, so its whole
    # standing goes into one reply; and one retweet from an ordinary member.
    top = np.argsort(-result.raw[:n], kind="stable")[:20]
    out_degree = np.bincount(world.events.actor, minlength=n)[:n]
    big = int(top[np.argmin(out_degree[top])])
    never_acted_on = np.flatnonzero((result.distinct_actors[:n] == 0) & (out_degree > 0))
    # A real user nobody acted on; a new account where every real user has fans.
    lucky = int(never_acted_on[len(never_acted_on) // 2]) if len(never_acted_on) else n
    ordinary = int(low_ranked(world, result, quantile=0.5)[0])
    if ordinary in (lucky, big):
        ordinary = int(low_ranked(world, result, quantile=0.6)[0])
    crown = _acts([big, ordinary], [lucky, lucky], Kind.REPLY, [now - 3600, now - 1800])
    crown.kind[1] = int(Kind.RETWEET)
    out.append(Attack(
        f"one reply from #{1 + int((result.raw[:n] > result.raw[big]).sum())} "
        f"(acts on {out_degree[big]}) + one retweet", crown, max(n, lucky + 1),
        np.array([lucky]), np.array([], dtype=np.int64), single_action=True))
    return out


# ---------------------------------------------------------------------------
# Metrics and targets


def fan_median(scores: np.ndarray, fans: np.ndarray, k: int) -> float:
    """Median score of users with k fans; widened to a log2 bin of fan counts when
    fewer than 20 users have exactly k."""
    same = scores[fans == k]
    if len(same) >= 20 or k == 0:
        return float(np.median(same)) if len(same) else 1.0
    lo, hi = 2 ** int(np.log2(k)), 2 ** (int(np.log2(k)) + 1)
    binned = scores[(fans >= lo) & (fans < hi)]
    return float(np.median(binned)) if len(binned) else float("nan")


def rank_of(raw_real: np.ndarray, value: float) -> int:
    return 1 + int((raw_real > value).sum())


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Report:
    world: str
    users: int
    acted_on: int
    iterations: int
    converged: bool
    tiers: dict[str, int]
    top: list[int]
    at_least_80: int
    at_least_90: int
    median_acted: float
    p90_acted: float
    spearman_actors: float
    spearman_pagerank: float
    pagerank_iterations: int
    stability: dict[str, float] = field(default_factory=dict)
    attack_rows: list[dict] = field(default_factory=list)
    fans_vs_sybils: dict = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)


def evaluate(world: World, config: ScoringConfig | None = None, *, with_stability: bool = True,
             with_attacks: bool = True, log: Callable[[str], None] | None = None) -> Report:
    config = config or ScoringConfig()
    say = log or (lambda _msg: None)
    result = score(world, config)
    n = world.n_real
    scores = result.score[:n].astype(np.int64)
    fans = result.distinct_actors[:n]
    acted = fans > 0
    acted_scores = scores[acted]
    tiers = {t.name: int(((scores >= t.min_score) & (scores <= t.max_score) & acted).sum())
             for t in config.tiers}
    pr, pr_it = pagerank(world, config)
    rho_actors = float(spearmanr(result.raw[:n][acted], fans[acted]).statistic)
    rho_pr = float(spearmanr(result.raw[:n][acted], pr[:n][acted]).statistic)
    p90 = float(np.percentile(acted_scores, 90))
    report = Report(
        world.name, n, int(acted.sum()), result.iterations, result.converged, tiers,
        sorted(scores.tolist(), reverse=True)[:5], int((scores >= 80).sum()),
        int((scores >= 90).sum()), float(np.median(acted_scores)), p90, rho_actors, rho_pr,
        pr_it)
    say(f"{world.name}: scored, {result.iterations} iterations")
    if with_stability:
        report.stability = stability(world, config, result)
        say(f"{world.name}: stability done")
    if with_attacks and world.n_real >= 100:
        for attack in attacks(world, result):
            after = score(world, config, attack.events, attack.n_users, attack.created)
            row = _attack_row(attack, result, after, scores, fans, p90, n)
            report.attack_rows.append(row)
            say(f"{world.name}: {attack.name} done")
    if with_attacks and world.n_real >= 100:
        report.fans_vs_sybils = fans_versus_sybils(world, config)
    report.checks = checks(report)
    return report


def fans_versus_sybils(world: World, config: ScoringConfig, count: int = 30) -> dict:
    """One reply each from `count` real actors who are never acted on themselves (the
    typical real fan) to one new user, against one reply each from `count` fresh
    accounts to another new user."""
    n = world.n_real
    givers = np.unique(world.events.actor)
    received = np.zeros(world.events.n_users, dtype=bool)
    received[world.events.target[world.events.target >= 0]] = True
    plain = givers[(givers < n) & ~received[givers]]
    if len(plain) < count:
        plain = givers[givers < n]
    real = np.random.default_rng(0).choice(plain, count, replace=False)
    honest, bought = n, n + 1
    sybils = np.arange(n + 2, n + 2 + count)
    ts = _spread(count, world.now, DAY)
    extra = concat(_acts(real, np.full(count, honest), Kind.REPLY, ts),
                   _acts(sybils, np.full(count, bought), Kind.REPLY, ts), None)
    # No creation dates for anyone (as in the real data): only behaviour tells them apart.
    result = score(world, config, extra, n + 2 + count, np.full(count + 2, np.nan))
    return {"real_fans": int(result.score[honest]), "fresh_fans": int(result.score[bought]),
            "real_raw": float(result.raw[honest]), "fresh_raw": float(result.raw[bought])}


def _attack_row(attack: Attack, before, after, scores, fans, p90: float, n: int) -> dict:
    """The judged user is the attack's best-placed target. It may not pass the median
    score of real users with as many fans as it has after the attack (bought ones
    included: 30 sybils must be worth less than 30 real fans), nor p90 of acted-on
    users. Bought accounts that only give (sybils) must stay in the bottom half."""
    raw_before, raw_after = before.raw[:n], after.raw[:n]
    t = attack.targets
    judged = int(t[np.argmax(after.raw[t])])
    row: dict = {"attack": attack.name, "p90": p90}
    row["target_fans"] = int(after.distinct_actors[judged])
    row["before"] = int(before.score[judged]) if judged < n else None
    row["rank_before"] = rank_of(raw_before, before.raw[judged]) if judged < n else None
    row["after"] = int(after.score[judged])
    row["rank_after"] = rank_of(raw_after, after.raw[judged])
    bottom_half = float(np.median(scores[fans > 0]))
    row["bound"] = min(fan_median(scores, fans, row["target_fans"]), p90)
    if attack.single_action:
        # A real account's real action is not bought engagement: the target for it is
        # that one action never lifts a user above p90.
        row["bound"] = p90
    if judged >= n:  # a bought account: also the bottom half
        row["bound"] = min(row["bound"], bottom_half)
    real_targets = t[t < n]
    if len(real_targets):
        row["max_gain"] = int((after.score[real_targets] - before.score[real_targets]).max())
    givers = np.setdiff1d(attack.members, t)
    if len(givers):
        row["members_max"] = int(after.score[givers].max())
        row["members_bound"] = bottom_half
    return row


def stability(world: World, config: ScoringConfig, result) -> dict[str, float]:
    """Score the first 80% of events (by time) and all of them at the same end time;
    judge the users who received nothing in the last 20%."""
    ev = world.events
    cut = float(np.quantile(ev.ts, 0.8))
    early = ev.ts <= cut
    part = InteractionArrays(ev.actor[early], ev.target[early], ev.kind[early], ev.ts[early],
                             ev.n_users, None if ev.weight is None else ev.weight[early])
    first = score_arrays(part, world.facts, world.now, config)
    n = world.n_real
    got_new = np.zeros(ev.n_users, dtype=bool)
    late_targets = ev.target[~early]
    got_new[late_targets[late_targets >= 0]] = True
    quiet = (~got_new[:n]) & (first.distinct_actors[:n] > 0)
    drop = first.score[:n][quiet].astype(np.int64) - result.score[:n][quiet]
    rho = float(spearmanr(first.raw[:n][quiet], result.raw[:n][quiet]).statistic)
    span_days = (float(ev.ts.max()) - cut) / DAY
    return {
        "late_days": span_days,
        "quiet_users": int(quiet.sum()),
        "spearman": rho,
        "drop_p50": float(np.percentile(drop, 50)),
        "drop_p99": float(np.percentile(drop, 99)),
        "drop_max": float(drop.max()),
        "dropped_over_3": int((drop > 3).sum()),
        "rise_max": float(-drop.min()),
    }


# Targets, per world (see docs/scoring.md, "Real data").
STABLE_MAX_DROP = 5
STABLE_P99_DROP = 3


def checks(report: Report) -> list[Check]:
    out = []
    if report.world == "higgs":
        out.append(Check("few dozen reach 80+", report.at_least_80 >= 24,
                         f"{report.at_least_80} users at 80+"))
        out.append(Check("very top 90+", report.top[0] >= 90, f"top {report.top[0]}"))
    if report.world in ("higgs", "congress", "synthetic"):
        # The lower middle of 1..100: above the bottom fifth, not above the middle.
        out.append(Check("median acted-on in the lower middle (20..50)",
                         20 <= report.median_acted <= 50, f"median {report.median_acted:g}"))
    if report.world == "discord-4":
        out.append(Check("top member not a lurker", report.top[0] >= 25, f"top {report.top[0]}"))
    for row in report.attack_rows:
        # "past the median": equal to a median that is itself an integer score is
        # not past it; a target must not land above it.
        ok = row["after"] <= row["bound"]
        detail = f"{row['after']} <= {row['bound']:g}"
        if "members_max" in row:
            ok = ok and row["members_max"] <= row["members_bound"]
            detail += f"; members {row['members_max']} <= {row['members_bound']:g}"
        out.append(Check(row["attack"], ok, detail))
    if report.fans_vs_sybils:
        f = report.fans_vs_sybils
        out.append(Check("30 real fans outweigh 30 fresh accounts",
                         f["real_raw"] > 2 * f["fresh_raw"] and f["real_fans"] > f["fresh_fans"],
                         f"{f['real_fans']} against {f['fresh_fans']}"))
    if report.stability:
        s = report.stability
        out.append(Check("quiet users lose at most a few points",
                         s["drop_max"] <= STABLE_MAX_DROP and s["drop_p99"] <= STABLE_P99_DROP,
                         f"max drop {s['drop_max']:g}, p99 {s['drop_p99']:g}"))
    return out


def with_config(config: ScoringConfig, **changes) -> ScoringConfig:
    return replace(config, **changes)
