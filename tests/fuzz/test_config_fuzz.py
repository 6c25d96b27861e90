"""Hostile config values for every numeric key, the key list read from the schema.

TOML has nan, inf and -inf, and Python's bool is an int: each must be refused with the
key and the file named, never accepted (a nan cooldown is no cooldown) or left to
surface as a traceback at start.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import Config, ConfigError, LeaderboardEntry, load_config
from scoring.config import ScoringConfig
from scoring.kinds import Kind


@dataclasses.dataclass(frozen=True)
class NumericKey:
    header: str  # the TOML table the key goes in ("[storage]", "[[leaderboard]]", ...)
    name: str
    dotted: str  # how an error names it
    kind: type  # int or float
    extra: str = ""  # other keys the table needs to be valid otherwise


def numeric_keys() -> list[NumericKey]:
    keys: list[NumericKey] = []
    for section in dataclasses.fields(Config):
        if section.metadata.get("internal") or section.name == "leaderboard":
            continue
        cls = typing.get_type_hints(Config)[section.name]
        hints = typing.get_type_hints(cls)
        for fld in dataclasses.fields(cls):
            if not fld.metadata.get("internal") and hints[fld.name] in (int, float):
                keys.append(NumericKey(f"[{section.name}]", fld.name,
                                       f"{section.name}.{fld.name}", hints[fld.name]))
    hints = typing.get_type_hints(LeaderboardEntry)
    for fld in dataclasses.fields(LeaderboardEntry):
        if hints[fld.name] in (int, float):
            keys.append(NumericKey("[[leaderboard]]", fld.name, f"leaderboard[0].{fld.name}",
                                   hints[fld.name], extra="platform = 'twitter'\n"))
    hints = typing.get_type_hints(ScoringConfig)
    for fld in dataclasses.fields(ScoringConfig):
        if hints[fld.name] in (int, float):
            keys.append(NumericKey("[scoring]", fld.name, f"scoring.{fld.name}",
                                   hints[fld.name]))
    keys += [NumericKey("[scoring.weights]", kind.label, f"scoring.weights.{kind.label}", float)
             for kind in Kind]
    return keys


KEYS = numeric_keys()
NOT_FINITE = ["nan", "inf", "-inf", "+nan"]
WRONG_TYPE = ["true", "false", "'5'", "[1]", "{ a = 1 }", "1979-05-27"]


def test_the_schema_walk_finds_every_section() -> None:
    tables = {k.header for k in KEYS}
    assert {"[bot]", "[storage]", "[scoring]", "[discord]", "[twitter]", "[privacy]",
            "[limits]", "[[leaderboard]]", "[scoring.weights]"} <= tables
    assert len(KEYS) >= 45
    assert {"storage.busy_timeout_s", "limits.user_cooldown_s", "twitter.poll_interval_s",
            "twitter.daily_budget_usd"} <= {k.dotted for k in KEYS}


def _load(tmp_path: Path, key: NumericKey, value: str) -> Config:
    path = tmp_path / "hostile.toml"
    path.write_text(f"{key.header}\n{key.extra}{key.name} = {value}\n", encoding="utf-8")
    return load_config(path)


def _assert_refused(tmp_path: Path, key: NumericKey, value: str) -> str:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, key, value)
    message = str(err.value)
    assert str(tmp_path / "hostile.toml") in message, message
    assert key.dotted in message, message
    return message


@pytest.mark.parametrize("key", KEYS, ids=lambda k: k.dotted)
def test_nan_and_inf_are_refused_naming_key_and_file(tmp_path: Path, key: NumericKey) -> None:
    for value in NOT_FINITE:
        message = _assert_refused(tmp_path, key, value)
        if key.kind is float:
            assert "finite" in message, message


@pytest.mark.parametrize("key", KEYS, ids=lambda k: k.dotted)
def test_wrong_types_are_refused_naming_key_and_file(tmp_path: Path, key: NumericKey) -> None:
    for value in WRONG_TYPE + (["1.5", "2.0"] if key.kind is int else []):
        _assert_refused(tmp_path, key, value)


def _toml_float(x: float) -> str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(x)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from([k for k in KEYS if k.kind is float]),
       value=st.floats(allow_nan=True, allow_infinity=True))
def test_any_float_is_accepted_finite_or_refused_by_name(tmp_path: Path, key: NumericKey,
                                                         value: float) -> None:
    try:
        config = _load(tmp_path, key, _toml_float(value))
    except ConfigError as exc:
        assert key.dotted in str(exc) and "hostile.toml" in str(exc)
        return
    assert math.isfinite(value)
    every = [v for sect in (config.storage, config.limits, config.twitter, config.discord,
                            config.scoring.model) for v in vars(sect).values()
             if isinstance(v, float)]
    every += list(config.scoring.model.weights.values())
    assert all(math.isfinite(v) for v in every)


def test_a_config_path_that_never_ends_is_refused_not_read_whole(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * (2 << 20) + b"\n")
    for path in (big, Path("/dev/zero")):
        if not path.exists():  # pragma: no cover - not every system has /dev/zero
            continue
        with pytest.raises(ConfigError) as err:
            load_config(path)
        assert str(path) in str(err.value) and "larger than" in str(err.value)
