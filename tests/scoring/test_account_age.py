"""The account's creation time as tenure evidence (docs/scoring.md, "Earned base").

tenure = now - min(first counted event, created on the platform): an old account that
is new to a community is trusted at once; a throwaway created two days ago stays weak
whatever its fans do.
"""

import numpy as np
import pytest

from scoring import AccountFacts, InteractionArrays, Kind, Profile, ScoringConfig, score_arrays

from .helpers import DAY, NOW, by_user, ev

CFG = ScoringConfig()
FLOOR = CFG.trust_floor
YEAR = 365 * DAY


def _bases(events: list[tuple[int, int, float]], n: int, created: list[float] | None):
    """Earned base per account, before trust: events are (actor, target, days ago), all
    replies."""
    actor, target, days = (np.asarray(c) for c in zip(*events, strict=True))
    arrays = InteractionArrays(
        actor.astype(np.int64), target.astype(np.int64),
        np.full(actor.size, int(Kind.REPLY), dtype=np.uint8), NOW - days * DAY, n,
    )  # fmt: skip
    facts = AccountFacts.unknown(n)
    if created is not None:
        facts.created = np.asarray(created, dtype=np.float64)
    result = score_arrays(arrays, facts, NOW)
    assert result.earned_base is not None
    return result.earned_base


def _expected(days: float, *, dated: bool) -> float:
    """docs/scoring.md, "Earned base", for an account with at least trust_actors fans:
    the floor (scaled by age when the platform dates the account) plus the square of
    its age as a share of trust_days."""
    share = min(1.0, days / CFG.trust_days)
    floor = FLOOR * max(share, 1 / 64) if dated else FLOOR
    return floor + (1 - floor) * share**2


# Account 0 shows up today and two others (1 and 2) reply to it today.
TODAY_WITH_TWO_FANS = [(1, 0, 0.0), (2, 0, 0.0)]


def test_an_old_account_new_to_the_community_has_its_full_base_at_once():
    unknown = _bases(TODAY_WITH_TWO_FANS, 3, None)
    old = _bases(TODAY_WITH_TWO_FANS, 3, [NOW - 3 * YEAR, np.nan, np.nan])
    assert unknown[0] == pytest.approx(FLOOR)  # first seen today: no tenure yet
    assert old[0] == 1.0


def test_a_two_day_old_account_stays_weak_even_with_fans():
    many_fans = [(k, 0, 0.0) for k in range(1, 11)]
    created = [NOW - 2 * DAY] + [NOW - YEAR] * 10
    base = _bases(many_fans, 11, created)
    assert base[0] == pytest.approx(_expected(2, dated=True))
    # Below even the floor of an account whose age is unknown: the platform says it is new.
    assert base[0] < FLOOR / 10


def test_the_oldest_evidence_wins():
    """Tenure counts from whichever is earlier: an event seen 10 days ago beats a
    creation time of 2 days ago (a wrong or missing date never erases what was seen),
    and a creation time of a year ago beats events of today."""
    events = [(1, 0, 10.0), (2, 0, 0.0)]
    base = _bases(events, 3, [NOW - 2 * DAY, np.nan, np.nan])
    assert base[0] == pytest.approx(_expected(10, dated=True))
    assert base[0] > _bases(events[1:], 3, [NOW - 2 * DAY, np.nan, np.nan])[0]


def test_a_creation_time_in_the_future_counts_as_now():
    base = _bases(TODAY_WITH_TWO_FANS, 3, [NOW + 30 * DAY, np.nan, np.nan])
    assert base[0] == pytest.approx(_expected(0, dated=True))


def test_an_old_account_nobody_acts_on_keeps_the_floor():
    """Tenure alone earns nothing: fans are the other half of the evidence."""
    base = _bases([(0, 1, 0.0)], 2, [NOW - 5 * YEAR, NOW - 5 * YEAR])
    assert base[0] == pytest.approx(FLOOR)


def test_creation_times_make_old_members_of_a_new_server_count_in_full():
    """A server the bot joined today: everyone's endorsement counted the floor without a
    creation time; with their real (old) creation times every base is full, exactly as
    under a flat base (trust_floor 1). Ann owns the server: the trust seed."""
    names = ["ann", "ben", "cat", "dan", "eve"]
    today = [ev(a, t, "reply") for a in names for t in names if a != t]
    created = [Profile(n, created=NOW - 4 * YEAR, seed=n == "ann") for n in names]
    new_server = by_user(today)
    with_age = by_user(today, created)
    flat = by_user(today, config=ScoringConfig(trust_floor=1.0))
    for name in names:
        assert with_age[name].score > new_server[name].score
        assert with_age[name].raw == flat[name].raw


def test_linked_accounts_take_the_oldest_creation_time():
    events = [ev("fan1", "x:new", "reply"), ev("fan2", "x:new", "reply"),
              ev("x:new", "fan1", "reply")]  # fmt: skip
    profiles = [Profile("x:new", "twitter", created=NOW - DAY),
                Profile("d:old", created=NOW - 2 * YEAR)]  # fmt: skip
    linked = by_user(events, profiles, links={"x:new": "d:old"})
    alone = by_user(events, profiles)
    # What the person gives fan1 is worth more once the old account vouches for their age.
    assert linked["fan1"].raw > alone["fan1"].raw


def test_creation_times_keep_order_independence_and_do_not_touch_strangers():
    events = [ev("a", "b", "reply", 3), ev("c", "b", "reaction", 1), ev("b", "a", "like", 5),
              ev("d", "e", "reply", 2)]  # fmt: skip
    profiles = [Profile("a", created=NOW - YEAR), Profile("b", created=NOW - 3 * DAY)]
    forward = by_user(events, profiles)
    backward = by_user(events[::-1], profiles[::-1])
    assert {u: s.raw for u, s in forward.items()} == {u: s.raw for u, s in backward.items()}
    without = by_user(events, profiles[1:])
    # a's creation time changes what a gives b, never what d gives e.
    assert without["e"].raw == forward["e"].raw
    assert forward["b"].raw > without["b"].raw


def test_facts_with_a_wrongly_shaped_creation_array_are_refused():
    arrays = InteractionArrays(np.array([0]), np.array([1]),
                               np.array([int(Kind.REPLY)], dtype=np.uint8), np.array([NOW]), 2)
    facts = AccountFacts.unknown(2)
    facts.created = np.array([NOW])
    with pytest.raises(ValueError, match=r"facts\.created"):
        score_arrays(arrays, facts, NOW)
