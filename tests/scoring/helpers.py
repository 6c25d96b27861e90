"""Small builders so each test reads as the scenario it checks."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from scoring import Interaction, Kind, Profile, ScoringConfig, UserScore, score_events
from scoring.jsonl import format_results, parse_lines
from scoring.records import InteractionArrays

NOW = 1_793_491_200.0  # 2026-11-01T00:00:00Z
DAY = 86_400.0


def ev(
    actor: str,
    target: str | None,
    kind: str = "reaction",
    days_ago: float = 0.0,
    *,
    platform: str = "discord",
    weight: float = 1.0,
    community: str | None = None,
) -> Interaction:
    return Interaction(
        actor=actor,
        target=target,
        kind=Kind.parse(kind),
        ts=NOW - days_ago * DAY,
        platform=platform,
        community=community,
        weight=weight,
    )


def by_user(
    events: Iterable[Interaction],
    profiles: Iterable[Profile] = (),
    config: ScoringConfig | None = None,
    now: float = NOW,
    links: dict[str, str] | None = None,
    community: str | None = None,
) -> dict[str, UserScore]:
    result = score_events(
        list(events),
        list(profiles),
        now,
        config or ScoringConfig(),
        links=links,
        community=community,
    )
    return {s.user: s for s in result}


def fans(
    target: str, count: int, kind: str = "reaction", prefix: str = "fan", days_ago: float = 0.0
) -> list[Interaction]:
    return [ev(f"{prefix}{i}", target, kind, days_ago) for i in range(count)]


def aged(names: Iterable[str], years: float = 3.0) -> list[Profile]:
    """Profiles saying these accounts were created `years` ago (as Discord ids and X
    accounts tell the bot): with two fans each, their earned base is full."""
    return [Profile(n, created=NOW - years * 365 * DAY) for n in names]


def established(names: list[str], days_ago: float = 20.0) -> list[Interaction]:
    """Give `names` fans: three different others (the next three in the list) acted on
    each of them `days_ago` days ago. With `aged(names)` as profiles each carries the
    full earned base (the events alone cover too little time). Needs four names."""
    assert len(names) >= 4
    return [
        ev(names[(i + k) % len(names)], name, "reaction", days_ago)
        for i, name in enumerate(names)
        for k in (1, 2, 3)
    ]


def concat(*parts: InteractionArrays, n_users: int) -> InteractionArrays:
    def cat(name: str, dtype: type) -> np.ndarray:
        return np.concatenate([np.asarray(getattr(p, name)).astype(dtype) for p in parts])

    return InteractionArrays(
        actor=cat("actor", np.int64),
        target=cat("target", np.int64),
        kind=cat("kind", np.uint8),
        ts=cat("ts", np.float64),
        n_users=n_users,
    )


def clique(members: np.ndarray, reps: int, kind: Kind, ts: float) -> InteractionArrays:
    """Every member acts `reps` times on every other member."""
    a, t = np.meshgrid(members, members)
    off = a != t
    actor = np.repeat(a[off], reps)
    target = np.repeat(t[off], reps)
    return InteractionArrays(
        actor=actor,
        target=target,
        kind=np.full(actor.size, int(kind), dtype=np.uint8),
        ts=np.full(actor.size, ts),
        n_users=int(members.max()) + 1,
    )


def jsonl_reference(lines: list[str], community: str | None = None):
    """What `klout-bot score` must print for these lines, by the strict line-by-line
    reader: the fast readers are held to it."""
    parsed = parse_lines(lines)
    problems = [f"line {n}: {msg}" for n, msg in parsed.problems]
    scores = score_events(parsed.events, parsed.profiles, NOW, ScoringConfig(),
                          community=community)
    return list(format_results(scores)), problems
