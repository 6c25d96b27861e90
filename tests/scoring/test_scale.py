import math

import numpy as np
import pytest

from scoring import (
    ScoringConfig,
    combine_networks,
    public_metrics_raw,
    raw_for_score,
    score_from_public_metrics,
    score_from_raw,
    with_audience,
)
from scoring.scale import (
    SCALE_POINTS,
    SCALE_RAW0,
    audience_points,
    audience_points_array,
    scores_from_raw,
)


def test_scale_constants_are_fixed():
    # Changing these changes every score: bump MODEL_VERSION and docs/scoring.md with them.
    assert (SCALE_POINTS, SCALE_RAW0) == (0.168, 8e-9)


def test_floor_and_ceiling():
    assert score_from_raw(0.0) == 1
    assert score_from_raw(-5.0) == 1
    assert score_from_raw(float("nan")) == 1
    assert score_from_raw(1e30) == 100
    assert score_from_raw(float("inf")) == 100
    arr = scores_from_raw(np.array([0.0, -1.0, np.nan, 1e30, np.inf]))
    assert arr.tolist() == [1, 1, 1, 100, 100]


def test_monotone_and_log_shaped():
    # score = 1 + A * ln(1 + raw / r0) ** 2: steps of equal ratios of raw, wider at the top.
    raws = np.logspace(-4, 8, 2000)
    scores = scores_from_raw(raws)
    assert np.all(np.diff(scores) >= 0)
    assert [score_from_raw(float(r)) for r in raws[::97]] == list(scores[::97])
    # Reaching 90 takes far more than reaching 30: four orders of magnitude more raw.
    assert raw_for_score(90) / raw_for_score(30) > 1e4
    # Each tenfold of raw is worth more points higher up (the scale is stretched there).
    steps = [score_from_raw(10.0**k) for k in range(-4, 3)]
    gains = np.diff(steps)
    assert np.all(gains > 0) and np.all(np.diff(gains) >= 0)


@pytest.mark.parametrize("score", [2, 10, 30, 45, 65, 80, 90, 99, 100])
def test_raw_for_score_is_the_inverse(score):
    raw = raw_for_score(score)
    assert score_from_raw(raw * (1 + 1e-9)) == score
    assert score_from_raw(raw * (1 - 1e-6)) == score - 1


def test_scale_landmarks():
    # docs/scoring.md, "The scale". One light fan's single retweet (a thousandth of an
    # endorsement): a lurker; one ordinary member's whole attention: a voice.
    assert score_from_raw(0.001) == 24
    assert score_from_raw(1.0) == 59
    assert score_from_raw(10.0) == 75
    assert score_from_raw(100.0) == 92


def test_audience_prior_is_small_and_bounded():
    cfg = ScoringConfig()
    assert audience_points(None, None, cfg) == 0.0
    assert audience_points(float("nan"), None, cfg) == 0.0
    assert audience_points(0, 0, cfg) == 0.0
    assert 1.5 < audience_points(1000, 0, cfg) < 2.5
    assert audience_points(1e9, 1e9, cfg) == cfg.audience_max_points == 4.0
    # listed counts more than a follower
    assert audience_points(0, 100, cfg) > audience_points(100, 0, cfg)
    arr = audience_points_array(np.array([np.nan, 1000.0, 1e9]), np.array([np.nan, 0.0, 0.0]), cfg)
    assert np.allclose(arr, [0.0, audience_points(1000, 0, cfg), 4.0])


@pytest.mark.parametrize("raw", [0.0, 0.01, 1.0, 50.0, 1e4, 1e6])
def test_audience_shifts_any_score_by_at_most_its_points(raw):
    for points in (0.0, 1.0, 2.5, 4.0):
        shifted = score_from_raw(with_audience(raw, points))
        base = score_from_raw(raw)
        assert base <= shifted <= min(100, base + math.ceil(points))


def test_combine_networks_sums_raw_and_never_lowers():
    assert combine_networks({}) == 0.0
    assert combine_networks({"discord": 2.0, "twitter": 3.0}) == 5.0
    assert combine_networks({"discord": 2.0, "twitter": float("nan"), "x": -1.0}) == 2.0
    alone = score_from_raw(combine_networks({"discord": 100.0}))
    linked = score_from_raw(combine_networks({"discord": 100.0, "twitter": 0.5}))
    assert linked >= alone  # averaging 1..100 scores would have lowered it


BIG = {"likes": 50_000, "retweets": 8_000, "replies": 5_000, "quotes": 1_000}


def test_public_metrics_calibration():
    # The biggest accounts reach the high 90s.
    assert score_from_public_metrics(100_000_000, 100_000, BIG, 20) >= 95
    # A typical account: a few hundred followers, a like every few posts.
    assert 15 <= score_from_public_metrics(300, 2, {"likes": 0.3}, 20) <= 35
    assert 15 <= score_from_public_metrics(500, 5, {"likes": 0.1, "replies": 0.05}, 20) <= 35
    # Nobody: 0 followers, no engagement.
    assert 1 <= score_from_public_metrics(0, 0, 0.0, 20) <= 10
    assert score_from_public_metrics(0, 0, 0.0, 0) == 1


def test_public_metrics_monotone_in_each_input():
    base = score_from_public_metrics(1000, 10, {"likes": 5.0}, 20)
    assert score_from_public_metrics(10_000, 10, {"likes": 5.0}, 20) >= base
    assert score_from_public_metrics(1000, 100, {"likes": 5.0}, 20) >= base
    assert score_from_public_metrics(1000, 10, {"likes": 50.0}, 20) > base
    # More posts sampled = more trust in the same average.
    assert score_from_public_metrics(1000, 10, {"likes": 5.0}, 100) >= base


def test_public_metrics_followers_alone_are_only_a_prior():
    # An audience that never responds is not influence: 100M silent followers stay low.
    assert score_from_public_metrics(100_000_000, 0, 0.0, 20) <= 5


def test_public_metrics_raw_combines_with_observed_raw():
    x_raw = public_metrics_raw({"likes": 10, "replies": 2}, 10)
    assert x_raw > 0
    assert combine_networks({"discord": 3.0, "twitter": x_raw}) == pytest.approx(3.0 + x_raw)
    as_mapping = public_metrics_raw({"reactions": 12.0}, 10)
    assert public_metrics_raw(12.0, 10) == pytest.approx(as_mapping)
    with pytest.raises(ValueError):
        public_metrics_raw({"pokes": 1.0}, 10)
