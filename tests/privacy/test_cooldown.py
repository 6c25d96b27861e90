"""Per-person-and-command and per-channel cooldowns, with a fixed clock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, parse_config
from commands.cooldown import CommandLimiter, CooldownRules
from commands.types import Request
from tests.core.helpers import T0, console_bot
from tests.privacy.helpers import limited_config, request


def ask(who: str, seconds: float = 0.0, channel: str = "c1",
        platform: str = "discord", command: str = "klout") -> Request:
    return request(platform, "g1", who, command, now=T0 + timedelta(seconds=seconds),
                   channel=channel)


def test_user_cooldown_says_how_long_and_is_not_extended_by_retries() -> None:
    limiter = CommandLimiter(CooldownRules(user_seconds=10, channel_max=100, user_burst=1))
    assert limiter.check(ask("ana")) is None
    refusal = limiter.check(ask("ana", 2.5))
    assert refusal is not None and refusal.template == "errors/cooldown"
    assert refusal.context == {"seconds": 8, "scope": "user"}
    assert refusal.ephemeral and not refusal.quiet
    # Spamming during the wait is answered once; the rest may be dropped silently.
    again = limiter.check(ask("ana", 9.0))
    assert again is not None and again.quiet and again.context["seconds"] == 1
    assert limiter.check(ask("ana", 10.0)) is None
    # Someone else is not held up.
    assert limiter.check(ask("bo", 10.5)) is None


def test_a_different_command_of_the_same_person_is_not_refused() -> None:
    limiter = CommandLimiter(CooldownRules(user_seconds=3, channel_max=100, user_burst=1))
    assert limiter.check(ask("ana", 0)) is None
    assert limiter.check(ask("ana", 1, command="leaderboard")) is None
    assert limiter.check(ask("ana", 1.5, command="help")) is None
    refusal = limiter.check(ask("ana", 2))
    assert refusal is not None and refusal.context == {"seconds": 1, "scope": "user"}


def test_burst_allowance_then_one_per_cooldown() -> None:
    limiter = CommandLimiter(CooldownRules(user_seconds=3, channel_max=100, user_burst=2))
    assert limiter.check(ask("ana", 0)) is None
    assert limiter.check(ask("ana", 0.5)) is None  # the burst
    refusal = limiter.check(ask("ana", 1))
    # Tokens: 2 -> 1 -> 0 (+1/6 refilled by 0.5 s); at 1 s a third of one is back.
    assert refusal is not None and refusal.context == {"seconds": 2, "scope": "user"}
    assert limiter.check(ask("ana", 2.9)) is not None
    assert limiter.check(ask("ana", 3.5)) is None  # one token earned back
    assert limiter.check(ask("ana", 4)) is not None  # and spent: no burst until refilled
    assert limiter.check(ask("ana", 12)) is None  # long idle: the bucket is full again
    assert limiter.check(ask("ana", 12)) is None
    assert limiter.check(ask("ana", 12)) is not None


def test_channel_limit_counts_everyone_in_a_sliding_window() -> None:
    limiter = CommandLimiter(CooldownRules(user_seconds=0, channel_window_seconds=30,
                                           channel_max=3))
    for i, who in enumerate(("a", "b", "c")):
        assert limiter.check(ask(who, i)) is None
    refusal = limiter.check(ask("d", 5))
    assert refusal is not None
    assert refusal.context == {"seconds": 25, "scope": "channel"}
    assert limiter.check(ask("d", 5, channel="c2")) is None  # another channel is free
    assert limiter.check(ask("d", 30)) is None  # "a" aged out of the window


def test_the_channel_limit_holds_one_person_cycling_through_commands() -> None:
    limiter = CommandLimiter(CooldownRules(user_seconds=60, channel_window_seconds=30,
                                           channel_max=3, user_burst=5))
    for i, command in enumerate(("klout", "leaderboard", "help")):
        assert limiter.check(ask("ana", i, command=command)) is None
    refusal = limiter.check(ask("ana", 3, command="privacy"))
    assert refusal is not None and refusal.context["scope"] == "channel"


def test_only_listed_platforms_are_limited() -> None:
    limiter = CommandLimiter(CooldownRules(user_seconds=60, user_burst=1))
    assert limiter.check(ask("ana", platform="console")) is None
    assert limiter.check(ask("ana", 1, platform="console")) is None
    assert limiter.check(ask("ana", 1, platform="twitter")) is None
    assert limiter.check(ask("ana", 2, platform="twitter")) is not None


def test_idle_buckets_are_forgotten_and_refill_the_same() -> None:
    limiter = CommandLimiter(CooldownRules(user_seconds=1, channel_max=10_000, user_burst=1))
    for i in range(6_000):
        assert limiter.check(ask(f"u{i}", i * 0.001, channel=f"c{i}")) is None
    assert len(limiter._buckets) < 6_000  # pruned past _PRUNE_AT keys
    assert ("discord", "u0", "klout") not in limiter._buckets
    assert limiter.check(ask("u0", 100.0)) is None  # forgotten means full
    assert limiter.check(ask("u0", 100.0)) is not None


async def test_console_cooldown_reply(tmp_path: Path) -> None:
    config = limited_config(user_cooldown_s=5.0, channel_max_commands=3, user_burst=1)
    async with console_bot(tmp_path / "c.db", config=config) as bot:
        assert "don't have a score" in await bot.say("/klout", as_="ana")
        assert await bot.say("/klout", as_="ana") == "One moment: try again in 5 s."
        bot.clock.advance(timedelta(seconds=2))
        # Another command of hers is not held up by the /klout.
        assert "try again" not in await bot.say("/privacy", as_="ana")
        assert "don't have a score" in await bot.say("/klout", as_="bo")
        out = await bot.say("/help", as_="di")
        assert out == "This channel is busy with commands; try again in 28 s."
        bot.clock.advance(timedelta(seconds=28))
        assert "open influence scores" in await bot.say("/help", as_="di")


def test_limits_config_is_validated() -> None:
    config = parse_config({"limits": {"user_cooldown_s": 1.5, "platforms": ["discord"]}})
    assert config.limits.user_cooldown_s == 1.5 and config.limits.platforms == ["discord"]
    with pytest.raises(ConfigError, match=r"limits.platforms\[0\]"):
        parse_config({"limits": {"platforms": ["irc"]}})
    with pytest.raises(ConfigError, match=r"limits\.channel_max_commands"):
        parse_config({"limits": {"channel_max_commands": 0}})
