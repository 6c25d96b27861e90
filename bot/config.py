"""Configuration: a TOML file validated against typed sections at load time.

Every problem names the file, the dotted key and what is wrong, so a typo fails
at startup instead of surfacing as odd behaviour later. Only the sections of the
adapters that are enabled must be usable; the others may be absent.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from scoring.config import BOT_ONLY_KEYS, ScoringConfig, ScoringConfigError, config_from_table

ADAPTERS = ("console", "discord", "twitter")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MAX_CONFIG_BYTES = 1 << 20
class ConfigError(Exception):
    """A configuration problem, phrased for the operator."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file, self.key, self.problem = file, key, problem
        super().__init__(f"{file}: {key}: {problem}" if key else f"{file}: {problem}")


def _range(lo: float | None = None, hi: float | None = None) -> dict[str, Any]:
    return {"min": lo, "max": hi}


@dataclass(frozen=True)
class BotSection:
    adapters: list[str] = field(default_factory=lambda: ["console"])
    name: str = "KloutBot"
    log_level: str = "INFO"
    leaderboard_page_size: int = field(default=10, metadata=_range(1, 25))
    # A weekly post missed while the bot was down is posted late within this many hours
    # of its slot, and skipped after (less than a week, so one never catches up twice).
    leaderboard_catch_up_hours: int = field(default=24, metadata=_range(0, 144))
    # After a rescore, the /klout cards of up to this many members who asked lately are
    # rebuilt in the background, so their next /klout is answered at once (0: never).
    card_refresh_ahead: int = field(default=2_000, metadata=_range(0, 20_000))
    # A community with new activity is rescored this many seconds after its first
    # change not yet scored (a burst costs one rescore); 0: only the scheduled rescore.
    fresh_scores_after_s: float = field(default=1.0, metadata=_range(0.0, 3_600.0))
    # ... if it has at most this many scored members; bigger ones wait for the schedule.
    fresh_scores_max_members: int = field(default=100_000, metadata=_range(0, 100_000_000))


@dataclass(frozen=True)
class StorageSection:
    path: str = "klout.db"
    batch_size: int = field(default=500, metadata=_range(1, 100_000))
    flush_interval_ms: int = field(default=200, metadata=_range(1, 60_000))
    fold_rows: int = field(default=50_000, metadata=_range(1, 10_000_000))
    fold_interval_ms: int = field(default=1_000, metadata=_range(1, 600_000))
    busy_timeout_s: float = field(default=5.0, metadata=_range(0.0, 600.0))


@dataclass(frozen=True)
class ScoringSection:
    """Bot-side scoring keys; the model's own keys are validated by scoring.config."""

    rescore_interval_minutes: int = field(default=60, metadata=_range(1, 10_080))
    history_retention_days: int = field(default=400, metadata=_range(8, 10_000))
    model: ScoringConfig = field(default_factory=ScoringConfig, metadata={"internal": True})


@dataclass(frozen=True)
class ConsoleSection:
    community: str = "local"
    user: str = "you"


@dataclass(frozen=True)
class DiscordSection:
    api_base: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg/"
    backfill_days: int = field(default=30, metadata=_range(0, 365))
    backfill_pause_ms: int = field(default=250, metadata=_range(0, 60_000))
    guild_ready_timeout_s: float = field(default=2.0, metadata=_range(0.0, 60.0))
    # Discord drops an interaction unanswered after 3 s; slower answers defer first.
    defer_after_ms: int = field(default=1500, metadata=_range(0, 2_500))


@dataclass(frozen=True)
class CardsSection:
    """Score cards and leaderboards as images on Discord (bot/cards/, docs/cards.md)."""

    # Servers that never ran /kloutadmin cards get images unless this is false.
    enabled_by_default: bool = False
    # Render processes, started on the first image; they take no event-loop time.
    workers: int = field(default=1, metadata=_range(1, 16))
    # Rendered PNGs kept in memory, keyed by everything drawn on them.
    cache_size: int = field(default=512, metadata=_range(0, 100_000))
    avatar_timeout_ms: int = field(default=1500, metadata=_range(50, 10_000))
    avatar_cache_size: int = field(default=2_000, metadata=_range(0, 100_000))
    # Where avatars are fetched from; change only to run behind a proxy (or a test fake).
    cdn_base: str = "https://cdn.discordapp.com"


@dataclass(frozen=True)
class WebSection:
    """The public web leaderboard served by the bot itself (bot/web/, docs/web.md)."""

    # Serve it at all; each community still shows up only after /kloutadmin web on.
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = field(default=8080, metadata=_range(1, 65_535))
    # The address people reach it at (behind a reverse proxy, say), used in the links
    # /kloutadmin web on answers with; empty: http://host:port.
    base_url: str = ""
    # Per client IP: up to rate_limit_burst requests at once, then rate_limit_per_minute.
    rate_limit_per_minute: int = field(default=120, metadata=_range(1, 100_000))
    rate_limit_burst: int = field(default=30, metadata=_range(1, 10_000))
    # Behind a reverse proxy every request comes from the proxy's address: take the
    # client's from the last X-Forwarded-For entry instead (only then).
    trust_forwarded_for: bool = False
    page_size: int = field(default=25, metadata=_range(5, 100))


@dataclass(frozen=True)
class TwitterSection:
    api_base: str = "https://api.twitter.com"
    poll_interval_s: float = field(default=60.0, metadata=_range(5.0, 86_400.0))
    # Seconds re-read behind the newest mention each poll (since_id alone misses some).
    poll_overlap_s: float = field(default=120.0, metadata=_range(0.0, 86_400.0))
    daily_budget_usd: float = field(default=5.0, metadata=_range(0.0, 1_000_000.0))
    monthly_budget_usd: float = field(default=100.0, metadata=_range(0.0, 10_000_000.0))
    replies_per_author_per_hour: int = field(default=5, metadata=_range(1, 1_000))
    cache_ttl_s: float = field(default=86_400.0, metadata=_range(0.0, 90 * 86_400.0))
    estimate_posts: int = field(default=5, metadata=_range(0, 100))
    # Accounts with fewer followers get a one-post engagement probe first; the full
    # sample is bought only when that post drew any engagement. Off (0) by default: it
    # scores many small accounts far too low (bench/bench_x_cost.py measures it).
    probe_below_followers: int = field(default=0, metadata=_range(0, 1_000_000_000))
    request_timeout_s: float = field(default=20.0, metadata=_range(1.0, 600.0))
    max_retries: int = field(default=4, metadata=_range(0, 20))
    # Replies to mentions carry the score card image (an upload each, billed and held
    # to the budgets; text only when it does not fit). Off: X bills every upload.
    card_images: bool = False
    # What X bills per media upload. Its rate card names no upload price; the default
    # assumes the nearest listed one ("Media Metadata", $0.005 a request).
    media_upload_usd: float = field(default=0.005, metadata=_range(0.0, 10.0))


@dataclass(frozen=True)
class PrivacySection:
    # Days a removed community's data is kept (the bot may be added back) before the purge.
    removed_grace_days: int = field(default=30, metadata=_range(0, 3_650))
    # Days an interaction event is kept; at least scoring.window_days (older ones no
    # longer count, so they are deleted).
    events_retention_days: int = field(default=120, metadata=_range(1, 36_500))
    link_code_minutes: int = field(default=30, metadata=_range(1, 1_440))
    confirm_minutes: int = field(default=5, metadata=_range(1, 60))
    # How people reach the operator, e.g. for an export requested on X (no files there).
    contact: str = ""


@dataclass(frozen=True)
class LimitsSection:
    # Per person and command: up to user_burst at once, one more every user_cooldown_s.
    user_cooldown_s: float = field(default=3.0, metadata=_range(0.0, 3_600.0))
    user_burst: int = field(default=2, metadata=_range(1, 100))
    channel_window_s: float = field(default=30.0, metadata=_range(1.0, 3_600.0))
    channel_max_commands: int = field(default=8, metadata=_range(1, 1_000))
    platforms: list[str] = field(default_factory=lambda: ["discord", "twitter"])


@dataclass(frozen=True)
class LeaderboardEntry:
    platform: Literal["discord", "twitter", "console"] = "discord"
    channel: str = ""
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    time: str = "09:00"
    timezone: str = "UTC"
    top: int = field(default=10, metadata=_range(1, 50))
    # The community whose board is posted: required for the console; for Discord the
    # channel's guild and for X the X community are found by the adapter when empty.
    community: str = ""


@dataclass(frozen=True)
class Config:
    bot: BotSection = field(default_factory=BotSection)
    storage: StorageSection = field(default_factory=StorageSection)
    scoring: ScoringSection = field(default_factory=ScoringSection)
    console: ConsoleSection = field(default_factory=ConsoleSection)
    discord: DiscordSection = field(default_factory=DiscordSection)
    twitter: TwitterSection = field(default_factory=TwitterSection)
    cards: CardsSection = field(default_factory=CardsSection)
    web: WebSection = field(default_factory=WebSection)
    privacy: PrivacySection = field(default_factory=PrivacySection)
    limits: LimitsSection = field(default_factory=LimitsSection)
    leaderboard: list[LeaderboardEntry] = field(default_factory=list)
    source: str = field(default="<defaults>", metadata={"internal": True})

    def with_overrides(self, **sections: Any) -> Config:
        return dataclasses.replace(self, **sections)


def load_config(path: str | Path | None) -> Config:
    """Load and validate `path`; None means built-in defaults (the console bot)."""
    if path is None:
        return Config()
    file = str(path)
    try:
        with Path(path).open("rb") as stream:  # bounded: a wrong path may be /dev/zero
            raw = stream.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(file, "", "file not found (copy config.example.toml to start)") from None
    except OSError as exc:
        raise ConfigError(file, "", f"cannot read file: {exc.strerror}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(file, "", f"larger than {MAX_CONFIG_BYTES // 1024} KiB; is this "
                          "the config file?")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(file, "", "file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, "", f"invalid TOML: {exc}") from None
    return parse_config(data, file)


def parse_config(data: dict[str, Any], file: str = "<config>") -> Config:
    scoring_table = data.get("scoring", {})
    if not isinstance(scoring_table, dict):
        raise ConfigError(file, "scoring", f"expected a table, got {_type_name(scoring_table)}")
    bot_side = {k: v for k, v in scoring_table.items() if k in BOT_ONLY_KEYS}
    config = typing.cast(Config, _build(Config, {**data, "scoring": bot_side}, file, ""))
    try:
        model = config_from_table(scoring_table, file)
    except ScoringConfigError as exc:
        # Problems read "<file>: scoring.<key>: what"; keep the first, it names the key.
        first = exc.problems[0]
        _, _, rest = first.partition(": ")
        key, _, problem = rest.partition(": ")
        if problem.startswith("unknown key"):
            valid = [f.name for f in dataclasses.fields(ScoringConfig)] + sorted(BOT_ONLY_KEYS)
            hint = difflib.get_close_matches(key.rpartition(".")[2], valid, n=1)
            if hint:
                problem = f"unknown key; did you mean 'scoring.{hint[0]}'?" + problem[11:]
        raise ConfigError(file, key, problem or rest) from None
    scoring = dataclasses.replace(config.scoring, model=model)
    config = dataclasses.replace(config, scoring=scoring, source=file)
    _check_semantics(config, file)
    return config


def _public_fields(cls: type) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(cls) if not f.metadata.get("internal")]


def _build(cls: type, data: Any, file: str, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(file, prefix or "<root>", f"expected a table, got {_type_name(data)}")
    known = {f.name: f for f in _public_fields(cls)}
    for key in data:
        if key not in known:
            hint = difflib.get_close_matches(key, list(known), n=1)
            suggestion = f"; did you mean '{_join(prefix, hint[0])}'?" if hint else ""
            valid = ", ".join(sorted(known))
            raise ConfigError(
                file, _join(prefix, key), f"unknown key{suggestion} (valid keys: {valid})"
            )
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for name, fld in known.items():
        if name in data:
            key = _join(prefix, name)
            values[name] = _coerce(hints[name], data[name], file, key, fld.metadata)
    return cls(**values)


def _coerce(tp: Any, value: Any, file: str, key: str, meta: Any) -> Any:
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _build(typing.cast(type, tp), value, file, key)
    if origin is Literal:
        choices = get_args(tp)
        if value not in choices:
            raise ConfigError(file, key, f"must be one of {', '.join(map(repr, choices))}")
        return value
    if origin is list:
        (item_tp,) = get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(file, key, f"expected a list, got {_type_name(value)}")
        return [_coerce(item_tp, v, file, f"{key}[{i}]", {}) for i, v in enumerate(value)]
    if origin is dict:
        _, val_tp = get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(file, key, f"expected a table, got {_type_name(value)}")
        return {k: _coerce(val_tp, v, file, f"{key}.{k}", {}) for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        raise TypeError(f"unsupported config type {tp}")  # pragma: no cover - schema bug
    return _scalar(tp, value, file, key, meta)


def _scalar(tp: type, value: Any, file: str, key: str, meta: Any) -> Any:
    # bool is an int subclass in Python; TOML keeps them apart and so do we.
    if tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, tp)
    if not ok:
        raise ConfigError(file, key, f"expected {tp.__name__}, got {_type_name(value)}")
    # TOML allows nan and inf; every comparison with nan is false, so the range check
    # below would let it through (a nan cooldown is no cooldown at all).
    if tp is float and not math.isfinite(value):
        raise ConfigError(file, key, f"must be a finite number, got {value}")
    lo, hi = meta.get("min"), meta.get("max")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(file, key, f"{value} is out of range ({lo}..{hi})")
    return value


def _check_semantics(config: Config, file: str) -> None:
    for i, name in enumerate(config.bot.adapters):
        if name not in ADAPTERS:
            hint = difflib.get_close_matches(name, ADAPTERS, n=1)
            extra = f"; did you mean '{hint[0]}'?" if hint else ""
            raise ConfigError(
                file, f"bot.adapters[{i}]", f"unknown adapter '{name}'{extra} "
                f"(choose from {', '.join(ADAPTERS)})"
            )
    if config.bot.log_level.upper() not in LOG_LEVELS:
        raise ConfigError(file, "bot.log_level", f"must be one of {', '.join(LOG_LEVELS)}")
    for i, entry in enumerate(config.leaderboard):
        _check_leaderboard(entry, file, f"leaderboard[{i}]")
    if config.privacy.events_retention_days < config.scoring.model.window_days:
        raise ConfigError(file, "privacy.events_retention_days",
                          f"{config.privacy.events_retention_days} is shorter than "
                          f"scoring.window_days ({config.scoring.model.window_days:g}): "
                          "events would be deleted while they still count")
    if config.web.enabled:
        _check_web(config.web, file)
    for i, name in enumerate(config.limits.platforms):
        if name not in ADAPTERS:
            raise ConfigError(file, f"limits.platforms[{i}]", f"unknown platform '{name}' "
                              f"(choose from {', '.join(ADAPTERS)})")


def _check_web(web: WebSection, file: str) -> None:
    """Only checked when the web board is enabled: a disabled one may stay half-filled."""
    from urllib.parse import urlsplit

    if not web.host.strip():
        raise ConfigError(file, "web.host", "an address to listen on is required, e.g. "
                          "'127.0.0.1' (this machine only) or '0.0.0.0' (every interface)")
    if web.base_url:
        parts = urlsplit(web.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(file, "web.base_url", f"'{web.base_url}' is not an http(s) "
                              "address, e.g. 'https://klout.example.org'")
        if parts.query or parts.fragment:
            raise ConfigError(file, "web.base_url", "must not have a query or a fragment")


def _check_leaderboard(entry: LeaderboardEntry, file: str, key: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(entry.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problem = f"unknown time zone '{entry.timezone}'"
        raise ConfigError(file, f"{key}.timezone", problem) from None
    hh, sep, mm = entry.time.partition(":")
    if not (sep and hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
        raise ConfigError(file, f"{key}.time", f"'{entry.time}' is not a HH:MM time")
    if entry.platform == "discord" and not entry.channel.isdigit():
        raise ConfigError(file, f"{key}.channel", "a Discord channel id (digits) is required")
    if entry.platform == "console" and not (entry.channel and entry.community):
        missing = "channel" if not entry.channel else "community"
        raise ConfigError(file, f"{key}.{missing}", "a console leaderboard needs a channel "
                          "name and a community")


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _type_name(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )
