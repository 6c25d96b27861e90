import numpy as np

from scoring import Kind
from scoring.synthetic import DEFAULT_NOW, power_law_community


def test_generator_is_deterministic_and_well_formed():
    a = power_law_community(500, 5000, seed=3, weeks=4)
    b = power_law_community(500, 5000, seed=3, weeks=4)
    for name in ("actor", "target", "kind", "ts"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.actor, power_law_community(500, 5000, seed=4).actor)
    assert a.n_users == 500 and len(a) == 5000
    assert a.actor.min() >= 0 and a.actor.max() < 500
    assert a.target.min() >= -1 and a.target.max() < 500
    assert np.all((a.target == -1) == (a.kind == Kind.MESSAGE))
    assert a.ts.max() <= DEFAULT_NOW and a.ts.min() >= DEFAULT_NOW - 4 * 7 * 86_400


def test_generator_is_heavy_tailed():
    arrays = power_law_community(10_000, 100_000, seed=1)
    acted = np.sort(np.bincount(arrays.actor, minlength=10_000))[::-1]
    assert acted[:1000].sum() > 0.5 * acted.sum()  # top 10% do most of the acting


def test_bench_reexports_the_generator():
    from bench.synthetic import power_law_community as bench_generator

    assert bench_generator is power_law_community
