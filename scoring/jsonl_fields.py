"""Validation of one decoded `klout-bot score` JSONL object (format: scoring/jsonl.py).

`FieldReader.record(obj)` turns one JSON object into an event tuple or a Profile,
or raises LineError naming the field. It remembers ids, kinds and platforms it has
already accepted, so the millionth line naming a known user costs a dict lookup
instead of a character-by-character check.

One range rule for every time, whichever form it takes: a timestamp (ISO 8601 with
offset, or epoch seconds) must lie in 1970-01-01..3000-01-01 UTC. Whole-number
counts must be 0..2**53 (what a float64 column holds exactly).
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import datetime
from typing import Any, NamedTuple

from scoring.kinds import KIND_NAMES, Kind
from scoring.propagation import MAX_EVENT_WEIGHT
from scoring.records import Profile

MAX_ID_CHARS = 256
MIN_EPOCH = 0
# Epoch seconds beyond year 3000 are almost always milliseconds or garbage.
MAX_EPOCH = 32_503_680_000
TIME_RANGE = "times must be between 1970-01-01 and 3000-01-01 UTC"
MAX_COUNT = 2**53
_PLATFORM = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}")
# Invisible or unrenderable: controls, format chars (bidi overrides, zero-width),
# surrogates, private use, unassigned, line/paragraph separators.
_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Caches of accepted kind and platform spellings stay small whatever the input.
_SMALL_CACHE = 256
_PROFILE = "profile"


class LineError(ValueError):
    """What is wrong with one line; the caller adds the line number."""


class EventFields(NamedTuple):
    actor: str
    target: str | None
    kind: Kind
    ts: float
    platform: str
    community: str | None
    weight: float


class FieldReader:
    """Validates records, caching what it has accepted (see the module docstring)."""

    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._kinds: dict[str, Kind | str | None] = {}
        self._platforms: dict[str, str] = {}

    def record(self, obj: dict[str, Any]) -> EventFields | Profile:
        # Checks run in a fixed order (kind, actor, platform, then the rest), so a
        # line with several faults always reports the same one.
        get = obj.get
        kind_text = get("kind")
        if type(kind_text) is not str:
            if kind_text is None:
                raise LineError('missing "kind"')
            raise LineError(f'"kind" must be a string, got {type_name(kind_text)}')
        kind = self.kind(kind_text)
        actor = self._id(get("actor"), "actor", required=True) or ""
        platform = self.platform(get("platform", "discord"))
        if kind is _PROFILE:
            return Profile(
                user=actor,
                platform=platform,
                bot=_bool(obj, "bot"),
                followers=_count(obj, "followers"),
                listed=_count(obj, "listed"),
                created=_created(obj),
            )
        if not isinstance(kind, Kind):
            raise LineError(
                f"unknown kind {kind_text[:40]!r}; valid kinds: {', '.join(KIND_NAMES)}, profile"
            )
        target = self._id(get("target"), "target", required=kind is not Kind.MESSAGE)
        if kind is Kind.MESSAGE and target is not None:
            raise LineError(
                'a "message" has no target; use "reply" or "mention" to address someone'
            )
        if "ts" not in obj:
            raise LineError('missing "ts"')
        ts = get("ts")
        ts = float(ts) if type(ts) is int and MIN_EPOCH <= ts <= MAX_EPOCH else parse_timestamp(ts)
        community = get("community")
        if community is not None:
            community = self._id(community, "community", required=False)
        weight = get("weight", 1.0)
        if not (type(weight) in (float, int) and 0 <= weight <= MAX_EVENT_WEIGHT):
            weight = _weight(weight)
        return EventFields(actor, target, kind, ts, platform, community, float(weight))

    def kind(self, text: str) -> Kind | str | None:
        """The Kind, "profile", or None for an unknown kind (reported after the actor)."""
        try:
            return self._kinds[text]
        except KeyError:
            pass
        kind: Kind | str | None
        if text.strip().lower() == _PROFILE:
            kind = _PROFILE
        else:
            try:
                kind = Kind.parse(text)
            except ValueError:
                kind = None
        if len(self._kinds) < _SMALL_CACHE:
            self._kinds[text] = kind
        return kind

    def _id(self, value: Any, key: str, *, required: bool) -> str | None:
        if type(value) is str and value in self._ids:
            return value
        if value is None:
            if required:
                raise LineError(f'missing "{key}"')
            return None
        problem = id_problem(value)
        if problem:
            raise LineError(f'"{key}" {problem}')
        self._ids.add(value)
        return str(value)

    def platform(self, value: Any) -> str:
        if type(value) is str:
            known = self._platforms.get(value)
            if known is not None:
                return known
        if not isinstance(value, str) or not _PLATFORM.fullmatch(value.lower()):
            raise LineError(
                '"platform" must be a short lower-case name such as "discord" or "twitter"'
            )
        if len(self._platforms) < _SMALL_CACHE:
            self._platforms[value] = value.lower()
        return value.lower()


def parse_timestamp(value: Any, field_name: str = "ts") -> float:
    """Epoch seconds from an ISO 8601 string with offset or a number of epoch seconds.

    Both forms obey one range, 1970-01-01..3000-01-01 UTC (MIN_EPOCH..MAX_EPOCH).
    """
    key = f'"{field_name}"'
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise LineError(
            f"{key} must be an ISO 8601 string or epoch seconds, got {type_name(value)}"
        )
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise LineError(f"{key} {value[:40]!r} is not an ISO 8601 timestamp") from None
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise LineError(
                f"{key} {value[:40]!r} has no UTC offset; add \"Z\" or \"+00:00\" so it is "
                "unambiguous"
            )
        seconds = moment.timestamp()
        if not MIN_EPOCH <= seconds <= MAX_EPOCH:
            raise LineError(f"{key} {value[:40]!r} is out of range; {TIME_RANGE}")
        return seconds
    # Compared before any float conversion: an int too big for a float is still
    # an int that can be compared, and reported, exactly.
    if isinstance(value, float) and not math.isfinite(value):
        raise LineError(f"{key} {number_text(value)} is not a valid epoch time")
    if value < MIN_EPOCH:
        raise LineError(f"{key} {number_text(value)} is not a valid epoch time; {TIME_RANGE}")
    if value > MAX_EPOCH:
        raise LineError(
            f"{key} {number_text(value)} is too large for epoch seconds (milliseconds?); "
            f"{TIME_RANGE}"
        )
    return float(value)


def number_text(value: int | float) -> str:
    """The number as written, cut short when it has hundreds of digits."""
    if isinstance(value, int) and abs(value) >= 10**40:
        return f"{str(value)[:20]}... ({len(str(abs(value)))} digits)"
    return repr(value)


def _created(obj: dict[str, Any]) -> float | None:
    """The account's creation time on its platform (optional; null means unknown)."""
    value = obj.get("created")
    return None if value is None else parse_timestamp(value, "created")


def id_problem(value: Any) -> str | None:
    """Why `value` cannot be a user/community id, or None if it can."""
    if not isinstance(value, str):
        return f"must be a string, got {type_name(value)}"
    if not value:
        return "must not be empty"
    if len(value) > MAX_ID_CHARS:
        return f"is longer than {MAX_ID_CHARS} characters"
    if value != value.strip():
        return "has leading or trailing whitespace"
    # isprintable() is False for every bad category (and for spaces other than
    # U+0020), so the per-character scan only runs for the rare doubtful id.
    if not value.isprintable():
        for ch in value:
            if unicodedata.category(ch) in _BAD_CATEGORIES:
                return f"contains an invisible or invalid character U+{ord(ch):04X}"
    return None


def _weight(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LineError(f'"weight" must be a number, got {type_name(value)}')
    # Compared before float(): an int too large for a float would raise there.
    if (isinstance(value, float) and not math.isfinite(value)) or not (
        0 <= value <= MAX_EVENT_WEIGHT
    ):
        raise LineError(f'"weight" must be a finite number in 0..{MAX_EVENT_WEIGHT:g}')
    return float(value)


def _bool(obj: dict[str, Any], key: str) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise LineError(f'"{key}" must be true or false, got {type_name(value)}')
    return value


def _count(obj: dict[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise LineError(f'"{key}" must be a whole number 0..{MAX_COUNT}')
    return value


def type_name(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number" if isinstance(value, int | float) else "?")
