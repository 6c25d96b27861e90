import numpy as np
import pytest

from scoring import (
    SUMMARY_KEYS,
    AccountFacts,
    Profile,
    ScoringConfig,
    explain_arrays,
    explain_user,
    score_arrays,
    score_events,
)
from scoring.synthetic import DEFAULT_NOW, power_law_community

from .helpers import NOW, ev, fans


def rates_of(scores):
    return {s.user: s.give_rate for s in scores}


def test_explanation_matches_the_full_rescore_on_a_community():
    arrays = power_law_community(300, 9000, seed=4)
    facts = AccountFacts.unknown(300)
    facts.followers[:50] = np.arange(50) * 100.0
    result = score_arrays(arrays, facts, DEFAULT_NOW)
    for user in [*np.argsort(-result.raw)[:5].tolist(), 7, 123, 299]:
        exp = explain_arrays(user, arrays, facts, result, DEFAULT_NOW)
        assert exp.score == result.score[user]
        assert exp.raw == pytest.approx(result.raw[user], rel=1e-9, abs=1e-12)
        assert exp.components["propagated"] == pytest.approx(result.propagated[user], rel=1e-9)
        assert exp.components["audience_points"] == pytest.approx(result.prior[user])
        assert exp.distinct_actors == result.distinct_actors[user]


def test_explain_user_matches_score_events_with_string_ids():
    events = [
        *fans("bob", 6, "reply"),
        ev("alice", "bob", "reaction"),
        ev("alice", "bob", "reaction", days_ago=10),
        ev("bob", "alice", "reply", platform="twitter"),
        ev("carol", "bob", "retweet", platform="twitter"),
        *fans("alice", 3, "like", prefix="afan"),
    ]
    profiles = [Profile("bob", followers=4000, listed=20)]
    scores = score_events(events, profiles, NOW)
    bob = next(s for s in scores if s.user == "bob")
    incoming = [e for e in events if e.target == "bob"]
    exp = explain_user("bob", incoming, rates_of(scores), NOW, profiles=profiles)
    assert exp.score == bob.score and exp.tier == bob.tier
    assert exp.raw == pytest.approx(bob.raw, rel=1e-9)
    for key, value in bob.components.items():
        assert exp.components[key] == pytest.approx(value, rel=1e-9), key
    # Passing every event (not just bob's) gives the same answer.
    assert explain_user("bob", events, rates_of(scores), NOW, profiles=profiles) == exp


def test_breakdown_fields():
    events = [
        ev("alice", "bob", "reply"),
        ev("alice", "bob", "reply"),
        ev("carol", "bob", "reaction"),
        ev("dave", "bob", "like", days_ago=30),
        ev("bob", "bob", "reply"),  # self: ignored
        ev("x", "someone-else", "reply"),  # not bob's: ignored
    ]
    scores = score_events(events, [], NOW)
    exp = explain_user("bob", events, rates_of(scores), NOW, previous_score=30)
    assert exp.counts_by_kind == {"like": 1, "reaction": 1, "reply": 2}
    assert exp.decayed_by_kind == pytest.approx({"like": 0.5, "reaction": 1.0, "reply": 2.0})
    names = [a for a, _ in exp.top_contributors]
    assert names == ["alice", "carol", "dave"]
    shares = [s for _, s in exp.top_contributors]
    assert sum(shares) == pytest.approx(1.0) and shares == sorted(shares, reverse=True)
    assert exp.change == exp.score - 30
    assert exp.summary_key in SUMMARY_KEYS


def test_top_contributors_are_capped():
    events = fans("bob", 20)
    exp = explain_user("bob", events, {}, NOW, top=3)
    assert len(exp.top_contributors) == 3 and exp.distinct_actors == 20


def test_unknown_actors_fall_back_to_newcomer_standing():
    # Nobody in the mapping: each fan is assumed to act only on bob with no standing,
    # which is exactly what score_events computes for this input.
    events = fans("bob", 5, "reply")
    full = {s.user: s for s in score_events(events, [], NOW)}
    exp = explain_user("bob", events, {}, NOW)
    assert exp.raw == pytest.approx(full["bob"].raw)


def test_bots_in_explanations():
    events = [ev("bot", "bob", "reply"), ev("fan", "bob", "reply")]
    exp = explain_user("bob", events, {}, NOW, bots={"bot"})
    assert exp.distinct_actors == 1
    # The rescore stores give_rate 0 for bots: that alone excludes them too.
    exp = explain_user("bob", events, {"bot": 0.0}, NOW)
    assert exp.distinct_actors == 1 and exp.counts_by_kind == {"reply": 1}
    exp = explain_user("bot", [ev("fan", "bot", "reply")], {}, NOW, bots={"bot"})
    assert (exp.score, exp.summary_key) == (1, "bot")


@pytest.mark.parametrize(
    ("events", "profiles", "key"),
    [
        ([], [], "no_activity"),
        ([ev("a", "bob", "reply", days_ago=200)], [], "no_activity"),
        ([], [Profile("bob", followers=5000)], "audience"),
        ([ev("fan", "bob", "reaction", days_ago=i) for i in range(30)], [], "few_people"),
        (fans("bob", 40, "reaction"), [], "many_people"),
        ([ev(f"f{i}", "bob", "reply") for i in range(4)] + [ev("g", "bob", "like")], [], "replies"),
        ([ev(f"f{i}", "bob", "mention") for i in range(5)], [], "mentions"),
    ],
)
def test_summary_keys(events, profiles, key):
    exp = explain_user("bob", events, {}, NOW, profiles=profiles)
    assert exp.summary_key == key
    assert key in SUMMARY_KEYS


def test_explanation_links_accounts_across_networks():
    events = [ev("d1", "bob", "reply"), ev("t1", "@bob", "retweet", platform="twitter")]
    exp = explain_user("bob", events, {}, NOW, links={"@bob": "bob"})
    assert set(exp.components) == {
        "propagated", "audience_points", "network:discord", "network:twitter",
    }  # fmt: skip
    assert exp.counts_by_kind == {"reply": 1, "retweet": 1}


def test_explanation_uses_config():
    cfg = ScoringConfig(half_life_days=1.0)
    exp = explain_user("bob", [ev("a", "bob", "reply", days_ago=1)], {}, NOW, config=cfg)
    assert exp.decayed_by_kind == {"reply": pytest.approx(0.5)}
