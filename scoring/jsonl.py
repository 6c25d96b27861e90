"""The `klout-bot score EVENTS.jsonl` contract: parse lines, score, format. Pure.

One JSON object per line. Events:
  {"kind": "reply", "actor": "alice", "target": "bob", "ts": "2026-10-30T12:00:00Z",
   "platform": "discord", "community": "guild-1", "weight": 1.0}
`target` is omitted (or null) only for "message". `ts` is ISO 8601 with a UTC
offset, or epoch seconds. Profiles (account facts):
  {"kind": "profile", "actor": "bob", "bot": false, "followers": 120, "listed": 3,
   "created": "2019-04-02T10:00:00Z"}
`created` (optional, ISO 8601 with offset or epoch seconds) is when the account was
created on its platform: tenure evidence for the earned base.
Every malformed line is reported with its number and skipped; nothing raises.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from scoring.config import ScoringConfig
from scoring.engine import score_events
from scoring.kinds import KIND_NAMES, Kind
from scoring.propagation import MAX_EVENT_WEIGHT
from scoring.records import Interaction, Profile, UserScore

MAX_LINE_CHARS = 1_000_000
MAX_ID_CHARS = 256
# Epoch seconds beyond year 3000 are almost always milliseconds or garbage.
MAX_EPOCH = 32_503_680_000.0
_PLATFORM = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}")
# Invisible or unrenderable: controls, format chars (bidi overrides, zero-width),
# surrogates, private use, unassigned, line/paragraph separators.
_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


@dataclass
class ParseResult:
    events: list[Interaction] = field(default_factory=list)
    profiles: list[Profile] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)


class CliOutcome(NamedTuple):
    output: list[str]
    problems: list[str]
    exit_code: int


class _LineError(ValueError):
    pass


def parse_lines(lines: Iterable[str | bytes]) -> ParseResult:
    """Parse JSONL; line numbers are 1-based; blank lines are skipped silently."""
    result = ParseResult()
    for number, line in enumerate(lines, start=1):
        try:
            record = _decode(line, first=number == 1)
            if record is None:
                continue
            parsed = _record(record)
        except _LineError as exc:
            result.problems.append((number, str(exc)))
            continue
        if isinstance(parsed, Profile):
            result.profiles.append(parsed)
        else:
            result.events.append(parsed)
    return result


def _decode(line: str | bytes, *, first: bool) -> dict[str, Any] | None:
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError:
            raise _LineError("not valid UTF-8") from None
    if first:
        line = line.removeprefix("\ufeff")
    if len(line) > MAX_LINE_CHARS:
        raise _LineError(f"line longer than {MAX_LINE_CHARS} characters")
    if not line.strip():
        return None
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _LineError(f"invalid JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise _LineError("invalid JSON: nested too deeply") from None
    if not isinstance(value, dict):
        raise _LineError(f"expected a JSON object, got {_type_name(value)}")
    return value


def _record(obj: dict[str, Any]) -> Interaction | Profile:
    kind_text = obj.get("kind")
    if kind_text is None:
        raise _LineError('missing "kind"')
    if not isinstance(kind_text, str):
        raise _LineError(f'"kind" must be a string, got {_type_name(kind_text)}')
    actor = _id(obj, "actor", required=True) or ""
    platform = _platform(obj)
    if kind_text.strip().lower() == "profile":
        return Profile(
            user=actor,
            platform=platform,
            bot=_bool(obj, "bot"),
            followers=_count(obj, "followers"),
            listed=_count(obj, "listed"),
            created=_created(obj),
        )
    try:
        kind = Kind.parse(kind_text)
    except ValueError:
        raise _LineError(
            f"unknown kind {kind_text[:40]!r}; valid kinds: {', '.join(KIND_NAMES)}, profile"
        ) from None
    target = _id(obj, "target", required=kind is not Kind.MESSAGE)
    if kind is Kind.MESSAGE and target is not None:
        raise _LineError('a "message" has no target; use "reply" or "mention" to address someone')
    if "ts" not in obj:
        raise _LineError('missing "ts"')
    return Interaction(
        actor=actor,
        target=target,
        kind=kind,
        ts=parse_timestamp(obj["ts"]),
        platform=platform,
        community=_id(obj, "community", required=False),
        weight=_weight(obj),
    )


def parse_timestamp(value: Any, field_name: str = "ts") -> float:
    """Epoch seconds from an ISO 8601 string with offset or a number of epoch seconds."""
    key = f'"{field_name}"'
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _LineError(
            f"{key} must be an ISO 8601 string or epoch seconds, got {_type_name(value)}"
        )
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _LineError(f"{key} {value[:40]!r} is not an ISO 8601 timestamp") from None
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise _LineError(
                f"{key} {value[:40]!r} has no UTC offset; add \"Z\" or \"+00:00\" so it is "
                "unambiguous"
            )
        return moment.timestamp()
    seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise _LineError(f"{key} {value!r} is not a valid epoch time")
    if seconds > MAX_EPOCH:
        raise _LineError(f"{key} {value!r} is too large for epoch seconds (milliseconds?)")
    return seconds


def _created(obj: dict[str, Any]) -> float | None:
    """The account's creation time on its platform (optional; null means unknown)."""
    value = obj.get("created")
    return None if value is None else parse_timestamp(value, "created")


def id_problem(value: Any) -> str | None:
    """Why `value` cannot be a user/community id, or None if it can."""
    if not isinstance(value, str):
        return f"must be a string, got {_type_name(value)}"
    if not value:
        return "must not be empty"
    if len(value) > MAX_ID_CHARS:
        return f"is longer than {MAX_ID_CHARS} characters"
    if value != value.strip():
        return "has leading or trailing whitespace"
    for ch in value:
        if unicodedata.category(ch) in _BAD_CATEGORIES:
            return f"contains an invisible or invalid character U+{ord(ch):04X}"
    return None


def _id(obj: dict[str, Any], key: str, *, required: bool) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise _LineError(f'missing "{key}"')
        return None
    problem = id_problem(value)
    if problem:
        raise _LineError(f'"{key}" {problem}')
    return str(value)


def _platform(obj: dict[str, Any]) -> str:
    value = obj.get("platform", "discord")
    if not isinstance(value, str) or not _PLATFORM.fullmatch(value.lower()):
        raise _LineError(
            '"platform" must be a short lower-case name such as "discord" or "twitter"'
        )
    return value.lower()


def _weight(obj: dict[str, Any]) -> float:
    value = obj.get("weight", 1.0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _LineError(f'"weight" must be a number, got {_type_name(value)}')
    weight = float(value)
    if not math.isfinite(weight) or not 0 <= weight <= MAX_EVENT_WEIGHT:
        raise _LineError(f'"weight" must be a finite number in 0..{MAX_EVENT_WEIGHT:g}')
    return weight


def _bool(obj: dict[str, Any], key: str) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise _LineError(f'"{key}" must be true or false, got {_type_name(value)}')
    return value


def _count(obj: dict[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _LineError(f'"{key}" must be a whole number >= 0')
    return value


def _type_name(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number" if isinstance(value, int | float) else "?")


def format_results(scores: Iterable[UserScore]) -> Iterator[str]:
    """One JSON object per user, in the order given (score_events sorts highest first)."""
    for s in scores:
        yield json.dumps(
            {
                "user": s.user,
                "score": s.score,
                "tier": s.tier,
                "raw": round(s.raw, 6),
                "components": {k: round(v, 6) for k, v in s.components.items()},
                "distinct_actors": s.distinct_actors,
                "model_version": s.model_version,
            },
            ensure_ascii=False,
        )


def run_score_cli(
    lines: Iterable[str | bytes],
    now: float | datetime,
    config: ScoringConfig | None = None,
    strict: bool = False,
    community: str | None = None,
) -> CliOutcome:
    """Everything `klout-bot score` does after reading the file and the clock.

    Exit code 0: scored (problem lines, if any, were skipped and are reported).
    Exit code 1: --strict and at least one problem (nothing is scored), or
    problems and not a single usable line.
    """
    parsed = parse_lines(lines)
    problems = [f"line {n}: {msg}" for n, msg in parsed.problems]
    if problems and (strict or not (parsed.events or parsed.profiles)):
        return CliOutcome([], problems, 1)
    scores = score_events(
        parsed.events, parsed.profiles, now, config or ScoringConfig(), community=community
    )
    return CliOutcome(list(format_results(scores)), problems, 0)
