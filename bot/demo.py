"""The bundled demo community: deterministic, synthetic, a realistic long tail.

A few hundred members and several thousand interactions over eight weeks.
Activity and attention both follow heavy-tailed distributions, as in real
communities: a handful of people draw most replies, most people post a little
and get a little back. Two planted accounts show the anti-gaming rules: a
spammer who posts a lot and gets nothing back, and a small ring that only
reacts to itself.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

from bot.ingest import Activity
from commands.types import Person
from scoring.kinds import Kind

COMMUNITY = "demo"
PLATFORM = "console"
SEED = 20261123
MEMBERS = 300
WEEKS = 8

_FIRST = [
    "ada",
    "alan",
    "anya",
    "bea",
    "bo",
    "cai",
    "cleo",
    "dev",
    "dora",
    "eli",
    "emi",
    "ezra",
    "fay",
    "finn",
    "gus",
    "hana",
    "ida",
    "ivo",
    "jae",
    "jun",
    "kai",
    "kit",
    "lea",
    "leo",
    "lin",
    "mae",
    "max",
    "mia",
    "nia",
    "noa",
    "oli",
    "omar",
    "pia",
    "quin",
    "rae",
    "rio",
    "sam",
    "sol",
    "tao",
    "tess",
    "uma",
    "val",
    "vic",
    "wen",
    "xia",
    "yara",
    "yul",
    "zoe",
    "zed",
]
_LAST = [
    "ash",
    "birch",
    "cole",
    "dale",
    "east",
    "ford",
    "gray",
    "hale",
    "iver",
    "jett",
    "knox",
    "lane",
    "moss",
    "nash",
    "oak",
    "pike",
    "quay",
    "reed",
    "shaw",
    "tate",
    "vale",
    "webb",
    "york",
]


def _people(rng: random.Random) -> list[Person]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < MEMBERS:
        name = f"{rng.choice(_FIRST)}_{rng.choice(_LAST)}"
        if name not in seen:
            seen.add(name)
            names.append(name)
    return [Person(PLATFORM, n, n, handle=n) for n in names]


def rising_member() -> str:
    """The planted newcomer whose score climbs in the last ten days."""
    return _people(random.Random(SEED))[RISING].display_name  # noqa: S311 - reproducible


RISING = 150


def _dated(people: list[Person], now: datetime) -> list[Person]:
    """Members' accounts are months to years old, as on a real platform, so the
    community does not look brand new in its first two weeks. Their own generator keeps
    the community itself the same with or without them."""
    rng = random.Random(SEED + 1)  # noqa: S311 - a reproducible demo, not security
    return [replace(p, created_at=int((now - timedelta(days=rng.uniform(120, 3_000))
                                       ).timestamp())) for p in people]


def _created_at(when: datetime) -> int:
    return int(when.timestamp())


def community_activity(now: datetime) -> list[Activity]:
    """Every demo activity, oldest first, ending at `now`."""
    rng = random.Random(SEED)  # noqa: S311 - a reproducible demo, not security
    people = _dated(_people(rng), now)
    # Zipf-like appeal (who draws responses) and activity (who acts), partly correlated.
    appeal = [1.0 / (i + 1) ** 1.1 for i in range(MEMBERS)]
    activity = [0.2 + 1.0 / (1 + abs(i - rng.randint(0, 60))) ** 0.7 for i in range(MEMBERS)]
    start = now - timedelta(weeks=WEEKS)
    span = (now - start).total_seconds()
    acts: list[Activity] = []
    kinds = [Kind.REPLY, Kind.REACTION, Kind.REACTION, Kind.MENTION, Kind.REACTION]
    for n in range(6_000):
        # Activity grows over the weeks, so weekly changes are visible.
        when = start + timedelta(seconds=span * rng.random() ** 0.8)
        actor = rng.choices(people, weights=activity)[0]
        target = rng.choices(people, weights=appeal)[0]
        source = f"m{n}"
        acts.append(
            Activity(
                PLATFORM, COMMUNITY, target, Kind.MESSAGE, when, channel="general", source=source
            )
        )
        if target is not actor:
            acts.append(
                Activity(
                    PLATFORM, COMMUNITY, actor, rng.choice(kinds), when, target, "general", source
                )
            )
    # A rising newcomer: quiet for weeks, then many people respond in the last ten days.
    rising = people[RISING]
    for n in range(60):
        when = now - timedelta(days=10 * rng.random())
        actor = people[rng.randrange(MEMBERS)]
        if actor is not rising:
            acts.append(
                Activity(PLATFORM, COMMUNITY, actor, Kind.REPLY, when, rising, "general", f"r{n}")
            )
    # The planted accounts were created for what they do: the spammer's account and the
    # ring's accounts date from the day their activity starts.
    start_day = _created_at(start - timedelta(days=1))
    spammer = Person(PLATFORM, "spam_king", "spam_king", handle="spam_king",
                     created_at=start_day)
    for n in range(800):
        when = start + timedelta(seconds=span * rng.random())
        acts.append(
            Activity(
                PLATFORM, COMMUNITY, spammer, Kind.MESSAGE, when, channel="general", source=f"s{n}"
            )
        )
    ring = [Person(PLATFORM, f"ring_{i}", f"ring_{i}", handle=f"ring_{i}",
                   created_at=start_day) for i in range(6)]
    for n in range(1_500):
        when = start + timedelta(seconds=span * rng.random())
        a, b = rng.sample(ring, 2)
        acts.append(Activity(PLATFORM, COMMUNITY, a, Kind.REACTION, when, b, "general", f"g{n}"))
    acts.sort(key=lambda a: a.when)
    return acts
