import dataclasses

import pytest

from scoring import (
    DEFAULT_TIERS,
    MODEL_VERSION,
    Kind,
    ScoringConfig,
    ScoringConfigError,
    Tier,
    config_from_table,
    tier_for,
)
from scoring.kinds import KIND_NAMES


def test_kind_values_are_stable():
    assert [(k.name, k.value) for k in Kind] == [
        ("MESSAGE", 0), ("REPLY", 1), ("MENTION", 2), ("REACTION", 3),
        ("RETWEET", 4), ("QUOTE", 5), ("LIKE", 6), ("FOLLOW", 7),
    ]  # fmt: skip


@pytest.mark.parametrize("text", ["reply", "Reply", " REPLY "])
def test_kind_parse_is_case_insensitive(text):
    assert Kind.parse(text) is Kind.REPLY


def test_kind_parse_error_lists_valid_names():
    with pytest.raises(ValueError, match="valid kinds: message, reply, mention"):
        Kind.parse("poke")
    assert KIND_NAMES[0] == "message"


def test_default_config_is_valid_and_matches_the_issue():
    cfg = ScoringConfig()
    assert cfg.validate() == []
    assert cfg.half_life_days == 30.0 and cfg.window_days == 90.0 and cfg.damping == 0.5
    assert cfg.weight_of(Kind.REPLY) == 3.0 and cfg.weight_of(Kind.MESSAGE) == 0.0
    assert [(t.name, t.min_score, t.max_score) for t in cfg.tiers] == [
        ("pariah", 1, 9), ("lurker", 10, 24), ("regular", 25, 44), ("voice", 45, 64),
        ("influencer", 65, 79), ("luminary", 80, 89), ("guru", 90, 100),
    ]  # fmt: skip
    assert MODEL_VERSION == "2026.12-2"


@pytest.mark.parametrize(
    ("score", "tier"),
    [(1, "pariah"), (9, "pariah"), (10, "lurker"), (44, "regular"), (45, "voice"),
     (79, "influencer"), (89, "luminary"), (90, "guru"), (100, "guru")],
)  # fmt: skip
def test_tier_boundaries(score, tier):
    assert tier_for(score) == tier == ScoringConfig().tier_for(score)


def test_custom_tier_table():
    tiers = (Tier("low", 1, 50), Tier("high", 51, 100))
    assert tier_for(50, tiers) == "low" and tier_for(51, tiers) == "high"
    with pytest.raises(ValueError):
        tier_for(0, tiers)


@pytest.mark.parametrize(
    ("tiers", "needle"),
    [
        ((Tier("a", 1, 50), Tier("b", 52, 100)), "51..51 are not covered"),
        ((Tier("a", 1, 50), Tier("b", 50, 100)), "overlaps"),
        ((Tier("a", 1, 99),), "100..100 are not covered"),
        ((Tier("a", 1, 101),), "above 100"),
        ((Tier("a", 1, 50), Tier("a", 51, 100)), "defined more than once"),
        ((Tier("a", 60, 50), Tier("b", 1, 100)), "low <= high"),
        ((), "at least one tier"),
    ],
)
def test_tier_table_problems(tiers, needle):
    problems = dataclasses.replace(ScoringConfig(), tiers=tiers).validate()
    assert any(needle in p for p in problems), problems


def test_validate_reports_bad_numbers():
    cfg = dataclasses.replace(
        ScoringConfig(),
        half_life_days=0.0,
        damping=1.5,
        weights={**ScoringConfig().weights, Kind.LIKE: -1.0},
    )
    problems = cfg.validate()
    assert any(p.startswith("half_life_days") for p in problems)
    assert any(p.startswith("damping") for p in problems)
    assert any(p.startswith("weights.like") for p in problems)


def test_validate_reports_missing_weight():
    weights = dict(ScoringConfig().weights)
    del weights[Kind.FOLLOW]
    problems = dataclasses.replace(ScoringConfig(), weights=weights).validate()
    assert "weights.follow: missing" in problems


def test_config_from_table_merges_weights_and_replaces_tiers():
    cfg = config_from_table(
        {
            "half_life_days": 14,
            "weights": {"like": 0.25},
            "tiers": {"low": [1, 50], "high": [51, 100]},
            "rescore_interval_minutes": 60,  # the bot's key, accepted and ignored
        }
    )
    assert cfg.half_life_days == 14.0
    assert cfg.weight_of(Kind.LIKE) == 0.25 and cfg.weight_of(Kind.REPLY) == 3.0
    assert [t.name for t in cfg.tiers] == ["low", "high"]


def test_config_from_table_names_unknown_keys_and_file():
    with pytest.raises(ScoringConfigError) as info:
        config_from_table({"half_lfe_days": 3, "weights": {"poke": 1}}, source="k.toml")
    text = "\n".join(info.value.problems)
    assert "k.toml: scoring.half_lfe_days: unknown key" in text
    assert "k.toml: scoring.weights.poke: unknown kind" in text


def test_config_from_table_rejects_wrong_types_and_ranges():
    with pytest.raises(ScoringConfigError, match="expected a number"):
        config_from_table({"damping": "high"})
    with pytest.raises(ScoringConfigError, match="damping"):
        config_from_table({"damping": 2})
    with pytest.raises(ScoringConfigError, match="max_iterations: expected an integer"):
        config_from_table({"max_iterations": 1.5})
    with pytest.raises(ScoringConfigError, match="not covered"):
        config_from_table({"tiers": {"only": [1, 10]}})


def test_example_config_scoring_table_loads():
    import tomllib
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "config.example.toml"
    if not path.exists():
        pytest.skip("no config.example.toml")
    table = tomllib.loads(path.read_text())["scoring"]
    cfg = config_from_table(table, source=str(path))
    assert cfg.tiers == DEFAULT_TIERS


def test_earned_base_keys_load_and_are_checked():
    cfg = config_from_table({"trust_floor": 1, "trust_days": 0, "trust_actors": 5})
    assert (cfg.trust_floor, cfg.trust_days, cfg.trust_actors) == (1.0, 0.0, 5.0)
    # A floor of 0 would make a non-bot's give_rate 0, which explanations read as "bot".
    with pytest.raises(ScoringConfigError, match=r"trust_floor: 0\.0 must be greater than 0"):
        config_from_table({"trust_floor": 0})
    with pytest.raises(ScoringConfigError, match="trust_days"):
        config_from_table({"trust_days": -1})


def test_example_config_documents_the_model_defaults():
    import tomllib
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "config.example.toml"
    table = tomllib.loads(path.read_text())["scoring"]
    defaults = ScoringConfig()
    for key in ("trust_floor", "trust_days", "trust_actors", "damping", "half_life_days",
                "out_floor", "activity_trust", "activity_targets", "established_raw",
                "activity_knee", "endorser_cap", "actor_gate", "gate_exponent"):
        assert table[key] == getattr(defaults, key), key
