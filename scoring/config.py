"""Every tunable of the model in one frozen dataclass, plus the tier table.

The defaults ARE the published model (see docs/scoring.md); changing any of them
changes scores, so a deployment that overrides them should say so next to the
MODEL_VERSION it reports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from scoring.kinds import KIND_NAMES, Kind

# Bump whenever a default constant, the formula or the score scale changes, so
# stored scores from different models are never compared silently.
MODEL_VERSION = "2026.12-2"


@dataclass(frozen=True)
class Tier:
    name: str
    min_score: int
    max_score: int


DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier("pariah", 1, 9),
    Tier("lurker", 10, 24),
    Tier("regular", 25, 44),
    Tier("voice", 45, 64),
    Tier("influencer", 65, 79),
    Tier("luminary", 80, 89),
    Tier("guru", 90, 100),
)

# Effort and intent: a reply or quote costs the actor a thought, a like costs a tap.
DEFAULT_WEIGHTS: Mapping[Kind, float] = {
    Kind.MESSAGE: 0.0,
    Kind.REPLY: 3.0,
    Kind.MENTION: 2.0,
    Kind.REACTION: 1.0,
    Kind.RETWEET: 2.0,
    Kind.QUOTE: 3.0,
    Kind.LIKE: 0.5,
    Kind.FOLLOW: 1.0,
}

# Keys the bot's own [scoring] table carries for its scheduler, not for the model.
BOT_ONLY_KEYS = frozenset({"rescore_interval_minutes", "history_retention_days"})


@dataclass(frozen=True)
class ScoringConfig:
    # hash=False: a dict is unhashable, and equal configs still hash equal without it.
    weights: Mapping[Kind, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS), hash=False)
    half_life_days: float = 30.0
    window_days: float = 90.0
    # Share of an endorser's standing that flows on (PageRank damping).
    damping: float = 0.5
    # W in W*log1p(C/W): actions of one actor on one target saturate past ~W weight units.
    pair_saturation: float = 3.0
    # K: a member passes on their full standing only once their decayed outflow reaches K;
    # below that, the unspent share simply is not given (nobody is topped up).
    out_floor: float = 2.0
    # gamma: an endorser's standing grows like raw**gamma, so closed loops cannot compound.
    endorser_exponent: float = 0.5
    # Earned base (trust-weighted teleport). An account's own base b in g = b + d*h(raw) is
    # trust_floor + (1 - trust_floor) * min(1, tenure / trust_days) * min(1, fans / trust_actors):
    # full once it has taken part for trust_days and trust_actors different others acted on
    # it. Throwaway and brand-new accounts carry only the floor, so bought engagement from
    # them is worth trust_floor of a member's attention each. 0 days or 0 actors drops
    # that factor; trust_floor = 1 is the flat base of model 2026.11-1. The floor stays
    # above 0 so that a stored give_rate of 0 still means "bot" (explain.py relies on it).
    trust_floor: float = 0.001
    trust_days: float = 730.0
    trust_actors: float = 2.0
    # Activity base (propagation.activity_base): an actor's base is at least
    # trust_floor + (activity_trust - trust_floor) * min(1, Q / activity_targets), Q being
    # the sum over their distinct targets of
    # min(1, standing / established_raw) * min(1, standing / activity_knee):
    # linear in a target's standing above the knee, quadratic below it, so a few people
    # with real standing count while a ring's floor-level standing counts for nothing.
    activity_trust: float = 0.5
    activity_targets: float = 1.0
    established_raw: float = 5.0
    activity_knee: float = 0.5
    # Trust seeds (TrustRank / EigenTrust's pre-trusted peers; propagation.trust_seeds):
    # accounts the community vouches for (AccountFacts.seed: admins, moderators, vouched
    # members, verified linked accounts) and accounts with an audience of at least
    # seed_audience distinct others (each weighted by its account age, see
    # propagation.seed_audience; 0 turns the derived seeds off). Trust flows from the
    # seeds along the same shares as standing; an account's earned and activity bases
    # count in proportion to min(1, trust / trust_knee), so a closed ring that nobody
    # trusted acts on keeps the floor however old its accounts are; a seed's own bases
    # count in full.
    seed_audience: float = 50.0
    trust_knee: float = 0.01
    # No account's endorsement (its weight g) is worth more than this many ordinary
    # members' whole attention, so one action cannot crown anybody.
    endorser_cap: float = 1.25
    # Distinct-actor gate: raw <= actor_gate * n**gate_exponent with n distinct actors, so
    # one big account's action counts like one ordinary fan's, never a crown.
    actor_gate: float = 0.01
    gate_exponent: float = 2.0
    # Audience prior: at most this many score points, reached at audience_saturation.
    audience_max_points: float = 4.0
    audience_saturation: float = 1_000_000.0
    # One listing (someone curating you into a list) counts as this many followers.
    listed_weight: float = 10.0
    max_iterations: int = 200
    # Stop when no member's raw moves by more than tolerance * (1 + raw).
    tolerance: float = 1e-7
    tiers: tuple[Tier, ...] = DEFAULT_TIERS

    def weight_of(self, kind: Kind) -> float:
        return float(self.weights.get(kind, 0.0))

    def weight_array(self) -> np.ndarray:
        """Weights indexed by Kind value, for vectorised lookups."""
        return np.array([self.weight_of(k) for k in Kind], dtype=np.float64)

    def tier_for(self, score: int) -> str:
        return tier_for(score, self.tiers)

    def validate(self) -> list[str]:
        """Human-readable problems; an empty list means the config is usable."""
        problems: list[str] = []
        for key in self.weights:
            if not isinstance(key, Kind):
                problems.append(f"weights: {key!r} is not an action kind ({', '.join(KIND_NAMES)})")
        for kind in Kind:
            if kind not in self.weights:
                problems.append(f"weights.{kind.label}: missing")
                continue
            w = self.weights[kind]
            if not _finite(w) or w < 0 or w > 1000:
                problems.append(f"weights.{kind.label}: {w!r} must be a number in 0..1000")
        _check_range(problems, "half_life_days", self.half_life_days, 0.01, 36500, lo_open=True)
        _check_range(problems, "window_days", self.window_days, 0.01, 36500, lo_open=True)
        _check_range(problems, "damping", self.damping, 0.0, 0.99)
        _check_range(problems, "pair_saturation", self.pair_saturation, 0.0, 1e6, lo_open=True)
        _check_range(problems, "out_floor", self.out_floor, 0.0, 1e6, lo_open=True)
        _check_range(problems, "endorser_exponent", self.endorser_exponent, 0.0, 1.0, lo_open=True)
        _check_range(problems, "trust_floor", self.trust_floor, 0.0, 1.0, lo_open=True)
        _check_range(problems, "trust_days", self.trust_days, 0.0, 36500)
        _check_range(problems, "trust_actors", self.trust_actors, 0.0, 1e6)
        _check_range(problems, "activity_trust", self.activity_trust, 0.0, 1.0)
        _check_range(problems, "activity_targets", self.activity_targets, 0.0, 1e6, lo_open=True)
        _check_range(problems, "established_raw", self.established_raw, 0.0, 1e9, lo_open=True)
        _check_range(problems, "activity_knee", self.activity_knee, 0.0, 1e9, lo_open=True)
        _check_range(problems, "seed_audience", self.seed_audience, 0.0, 1e9)
        _check_range(problems, "trust_knee", self.trust_knee, 0.0, 1e9, lo_open=True)
        _check_range(problems, "actor_gate", self.actor_gate, 0.0, 1e12, lo_open=True)
        _check_range(problems, "gate_exponent", self.gate_exponent, 0.0, 4.0)
        _check_range(problems, "endorser_cap", self.endorser_cap, 0.0, 1e12, lo_open=True)
        _check_range(problems, "audience_max_points", self.audience_max_points, 0.0, 10.0)
        _check_range(problems, "audience_saturation", self.audience_saturation, 1.0, 1e12)
        _check_range(problems, "listed_weight", self.listed_weight, 0.0, 1e6)
        _check_range(problems, "tolerance", self.tolerance, 0.0, 0.1, lo_open=True)
        if not isinstance(self.max_iterations, int) or not 1 <= self.max_iterations <= 10_000:
            problems.append(
                f"max_iterations: {self.max_iterations!r} must be an integer in 1..10000"
            )
        problems.extend(tier_problems(self.tiers))
        return problems


def tier_for(score: int, tiers: tuple[Tier, ...] = DEFAULT_TIERS) -> str:
    for tier in tiers:
        if tier.min_score <= score <= tier.max_score:
            return tier.name
    raise ValueError(f"no tier covers score {score!r}")


def tier_problems(tiers: tuple[Tier, ...]) -> list[str]:
    """Tiers must cover 1..100 exactly once; names must be distinct and non-empty."""
    problems: list[str] = []
    if not tiers:
        return ["tiers: at least one tier is required"]
    names = [t.name for t in tiers]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"tiers.{name}: defined more than once")
    spans = []
    for t in tiers:
        if not isinstance(t.name, str) or not t.name.strip():
            problems.append(f"tiers: tier {t!r} needs a name")
        if not (_is_int(t.min_score) and _is_int(t.max_score)) or t.min_score > t.max_score:
            problems.append(f"tiers.{t.name}: must be [low, high] integers with low <= high")
            continue
        spans.append((t.min_score, t.max_score, t.name))
    if problems:
        return problems
    spans.sort()
    expected = 1
    for lo, hi, name in spans:
        if lo < expected:
            problems.append(f"tiers.{name}: {lo}..{hi} overlaps the tier before it")
        elif lo > expected:
            problems.append(f"tiers.{name}: scores {expected}..{lo - 1} are not covered")
        expected = max(expected, hi + 1)
    if expected <= 100:
        problems.append(f"tiers: scores {expected}..100 are not covered")
    elif expected > 101:
        problems.append(f"tiers: scores above 100 ({spans[-1][2]} ends at {expected - 1})")
    return problems


class ScoringConfigError(ValueError):
    """A [scoring] table that cannot be used; `problems` are ready to print."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


_SCALAR_KEYS = {
    f.name: f.type for f in fields(ScoringConfig) if f.name not in ("weights", "tiers")
}


def config_from_table(table: Mapping[str, Any], source: str = "<config>") -> ScoringConfig:
    """Build a config from a TOML [scoring] table (already parsed); unknown keys are errors.

    Weights given for some kinds keep the defaults for the others. Tiers, when
    given, replace the whole table: `name = [low, high]`.
    """
    problems: list[str] = []
    values: dict[str, Any] = {}
    for key, value in table.items():
        where = f"{source}: scoring.{key}"
        if key in BOT_ONLY_KEYS:
            continue
        if key == "weights":
            values["weights"] = _weights_from(value, where, problems)
        elif key == "tiers":
            values["tiers"] = _tiers_from(value, where, problems)
        elif key in _SCALAR_KEYS:
            want_int = _SCALAR_KEYS[key] in ("int", int)
            ok = _is_int(value) if want_int else _is_number(value)
            if not ok:
                problems.append(f"{where}: expected {'an integer' if want_int else 'a number'}"
                                f"{_not_finite(value)}")
            else:
                values[key] = value if want_int else float(value)
        else:
            valid = ", ".join(sorted([*_SCALAR_KEYS, "weights", "tiers", *BOT_ONLY_KEYS]))
            problems.append(f"{where}: unknown key (valid keys: {valid})")
    if problems:
        raise ScoringConfigError(problems)
    config = replace(ScoringConfig(), **values)
    problems = [f"{source}: scoring.{p}" for p in config.validate()]
    if problems:
        raise ScoringConfigError(problems)
    return config


def _weights_from(value: Any, where: str, problems: list[str]) -> dict[Kind, float]:
    weights = dict(DEFAULT_WEIGHTS)
    if not isinstance(value, Mapping):
        problems.append(f"{where}: expected a table of kind = weight")
        return weights
    for name, w in value.items():
        try:
            kind = Kind.parse(name)
        except ValueError as exc:
            problems.append(f"{where}.{name}: {exc}")
            continue
        if not _is_number(w):
            problems.append(f"{where}.{name}: expected a number{_not_finite(w)}")
            continue
        weights[kind] = float(w)
    return weights


def _tiers_from(value: Any, where: str, problems: list[str]) -> tuple[Tier, ...]:
    if not isinstance(value, Mapping):
        problems.append(f"{where}: expected a table of name = [low, high]")
        return DEFAULT_TIERS
    tiers = []
    for name, span in value.items():
        if not (isinstance(span, list | tuple) and len(span) == 2 and all(map(_is_int, span))):
            problems.append(f"{where}.{name}: expected [low, high] integers")
            continue
        tiers.append(Tier(str(name), int(span[0]), int(span[1])))
    return tuple(sorted(tiers, key=lambda t: t.min_score))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and _finite(value)


def _not_finite(value: Any) -> str:
    """Why a float was refused, when TOML's nan or inf is the reason."""
    return f" (finite, not {value})" if isinstance(value, float) and not _finite(value) else ""


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(value)
    except TypeError:
        return False


def _check_range(
    problems: list[str], name: str, value: Any, lo: float, hi: float, *, lo_open: bool = False
) -> None:
    ok = _finite(value) and (value > lo if lo_open else value >= lo) and value <= hi
    if not ok:
        bound = f"greater than {lo}" if lo_open else f"at least {lo}"
        problems.append(f"{name}: {value!r} must be {bound} and at most {hi}")
