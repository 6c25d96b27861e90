"""The model's targets on real data (docs/scoring.md, "Real data"), quick version.

The full run is `python bench/bench_realworld.py`. Here: a sample cut at test time
from the SNAP Higgs file (its first 150,000 rows: 76k users, two and a half days),
the Congress network, the synthetic community and a 4-member Discord server, each
scored with the real scoring module and judged by bench/realworld.py's checks. The
data are read from ../shared/data/realworld/ beside the checkout (KLOUT_REALWORLD_DIR
overrides it); a test skips, saying so, when its file is absent.

Targets the model does not meet yet are listed per world in NOT_MET, with the
reason; the test asserts that they still fail, so the list cannot silently go stale.
"""

import pytest

from bench.realworld import (
    CONGRESS_PATH,
    HIGGS_PATH,
    evaluate,
    load_congress,
    load_higgs,
    small_discord_server,
    synthetic_world,
)

HIGGS_SAMPLE_ROWS = 150_000
REAL_RING = "real ring: 20 real low-ranked users, 3 replies each way in a day"
# A ring of real users still gains past the bound in the synthetic community, where
# every member's earned base is full and trust reaches the low-ranked members: twenty
# established members giving each other their whole attention are worth the clique
# value (docs/scoring.md, "Known limits").
NOT_MET = {
    "higgs": set(),
    "congress": set(),
    "synthetic": {REAL_RING},
    "discord-4": set(),
}


def _need(path):
    if not path.exists():
        pytest.skip(f"real data absent: {path} (see bench/realworld.py)")


def _world(name):
    if name == "higgs":
        _need(HIGGS_PATH)
        return load_higgs(max_rows=HIGGS_SAMPLE_ROWS)
    if name == "congress":
        _need(CONGRESS_PATH)
        return load_congress()
    if name == "synthetic":
        return synthetic_world()  # the bench's: 20,000 members, 200,000 events
    return small_discord_server()


@pytest.mark.parametrize("name", list(NOT_MET))
def test_targets_on_real_and_synthetic_data(name):
    report = evaluate(_world(name))
    assert report.converged
    results = {c.name: c for c in report.checks}
    assert results, "no target was checked"
    for check in report.checks:
        if check.name in NOT_MET[name]:
            assert not check.ok, f"{check.name} is met now ({check.detail}): update NOT_MET"
        else:
            assert check.ok, f"{name}: {check.name}: {check.detail}"
    if name == "higgs":
        # Both halves of the stability target, and the top of the scale, in the sample.
        assert report.stability["drop_p99"] <= 3
        assert report.stability["drop_max"] <= 5
        assert report.top[0] >= 90 and report.at_least_80 >= 24
    if name in ("higgs", "synthetic"):
        # Every standard attack was run, and a bought star's sybils stay at the floor.
        assert len(report.attack_rows) == 5
        assert report.attack_rows[0]["members_max"] == 1


def test_a_single_action_never_crowns_on_real_data():
    _need(HIGGS_PATH)
    report = evaluate(load_higgs(max_rows=HIGGS_SAMPLE_ROWS), with_stability=False)
    crown = next(r for r in report.attack_rows if r["attack"].startswith("one reply"))
    assert crown["after"] <= report.p90_acted
