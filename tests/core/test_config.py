from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_loads_and_matches_defaults() -> None:
    config = load_config(REPO / "config.example.toml")
    assert config.bot.adapters == ["console"]
    assert config.scoring.model.half_life_days == 30.0
    assert config.scoring.model.tier_for(95) == "guru"
    assert config.source.endswith("config.example.toml")


def test_defaults_without_file() -> None:
    config = load_config(None)
    assert config.storage.path == "klout.db"


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ("[bot]\nadapers = []", "bot.adapers", "did you mean 'bot.adapters'"),
        ("[storage]\nbatch_size = 'x'", "storage.batch_size", "expected int"),
        ("[storage]\nbatch_size = 0", "storage.batch_size", "out of range"),
        ("[scoring]\nhalf_lif_days = 3", "scoring.half_lif_days",
         "did you mean 'scoring.half_life_days'"),
        ("[scoring.weights]\nreplyy = 2.0", "scoring.weights.replyy", "unknown"),
        ("[scoring.tiers]\nguru = [80, 100]", "scoring.tiers", "not covered"),
        ("[bot]\nadapters = ['discrod']", "bot.adapters[0]", "did you mean 'discord'"),
        ("[bot]\nlog_level = 'LOUD'", "bot.log_level", "must be one of"),
        ("[[leaderboard]]\nplatform = 'discord'\nchannel = 'general'", "leaderboard[0].channel",
         "channel id"),
        ("[[leaderboard]]\nplatform = 'twitter'\ntimezone = 'Mars/Base'",
         "leaderboard[0].timezone", "unknown time zone"),
        ("[[leaderboard]]\nplatform = 'twitter'\ntime = '25:00'", "leaderboard[0].time", "HH:MM"),
        ("bot = 3", "bot", "expected a table"),
    ],
)
def test_bad_config_names_file_key_and_problem(tmp_path: Path, text: str, key: str,
                                               fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message
    assert key in message
    assert fragment in message


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(write(tmp_path, "[bot\n"))
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


def test_leaderboard_entries_parse(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, (
        "[[leaderboard]]\nplatform = 'discord'\nchannel = '123'\nweekday = 'fri'\n"
        "time = '18:30'\ntimezone = 'Europe/Berlin'\ntop = 5\n")))
    (entry,) = config.leaderboard
    assert (entry.channel, entry.weekday, entry.time, entry.top) == ("123", "fri", "18:30", 5)
