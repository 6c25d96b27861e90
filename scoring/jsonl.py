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
Times, in either form, must lie in 1970-01-01..3000-01-01 UTC.
Every malformed line is reported with its number and skipped; nothing raises.
A line longer than MAX_LINE_CHARS may arrive as an OverlongLine (the reader
stopped holding it); it is reported like any other bad line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np
import orjson

from scoring.config import ScoringConfig
from scoring.engine import _facts_from_profiles, score_arrays
from scoring.jsonl_fields import (
    MAX_EPOCH,
    MAX_ID_CHARS,
    MIN_EPOCH,
    EventFields,
    FieldReader,
    LineError,
    id_problem,
    parse_timestamp,
    type_name,
)
from scoring.kinds import Kind
from scoring.propagation import MAX_EVENT_WEIGHT
from scoring.records import Interaction, InteractionArrays, Profile, UserScore
from scoring.timeutil import to_epoch

__all__ = [
    "MAX_EPOCH",
    "MAX_ID_CHARS",
    "MAX_LINE_BYTES",
    "MAX_LINE_CHARS",
    "CliOutcome",
    "OverlongLine",
    "ParseResult",
    "format_results",
    "id_problem",
    "parse_lines",
    "parse_timestamp",
    "run_score_cli",
]

MAX_LINE_CHARS = 1_000_000
# The most bytes a line of MAX_LINE_CHARS characters can take in UTF-8 (plus CRLF):
# a reader may drop anything longer unread, it cannot be acceptable.
MAX_LINE_BYTES = 4 * MAX_LINE_CHARS + 2
_BOM = "\ufeff"
_BOM_BYTES = _BOM.encode("utf-8")


@dataclass(frozen=True)
class OverlongLine:
    """Stands in for a line the reader refused to hold: `size` bytes and counting."""

    size: int


@dataclass
class ParseResult:
    events: list[Interaction] = field(default_factory=list)
    profiles: list[Profile] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)


class CliOutcome(NamedTuple):
    output: list[str]
    problems: list[str]
    exit_code: int


Line = str | bytes | OverlongLine


def _records(lines: Iterable[Line]) -> Iterator[tuple[int, EventFields | Profile | str]]:
    """(line number, record or the problem with it); blank lines are skipped."""
    reader = FieldReader()
    for number, line in enumerate(lines, start=1):
        try:
            obj = _decode(line, first=number == 1)
            if obj is not None:
                yield number, reader.record(obj)
        except LineError as exc:
            yield number, str(exc)


def parse_lines(lines: Iterable[Line]) -> ParseResult:
    """Parse JSONL; line numbers are 1-based; blank lines are skipped silently."""
    result = ParseResult()
    for number, record in _records(lines):
        if isinstance(record, str):
            result.problems.append((number, record))
        elif isinstance(record, Profile):
            result.profiles.append(record)
        else:
            result.events.append(Interaction(*record))
    return result


def _decode(line: Line, *, first: bool) -> dict[str, Any] | None:
    """The line's JSON object (None for a blank line). orjson first; anything it
    refuses goes through the stdlib so the problem is described the same way
    whichever parser saw it (and NaN, huge integers and lone surrogates, which the
    stdlib accepts, reach the field checks that name them)."""
    if isinstance(line, OverlongLine):
        raise LineError(f"line longer than {MAX_LINE_CHARS} characters")
    if first:
        line = line.removeprefix(_BOM_BYTES) if isinstance(line, bytes) else line.removeprefix(_BOM)
    if len(line) <= MAX_LINE_CHARS:  # bytes or characters: either way short enough
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            pass
        else:
            if isinstance(value, dict):
                return value
    return _decode_stdlib(line)


def _decode_stdlib(line: str | bytes) -> dict[str, Any] | None:
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError:
            raise LineError("not valid UTF-8") from None
    if len(line) > MAX_LINE_CHARS:
        raise LineError(f"line longer than {MAX_LINE_CHARS} characters")
    if not line.strip():
        return None
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LineError(f"invalid JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise LineError("invalid JSON: nested too deeply") from None
    except ValueError:  # Python's int-string limit; the message would not name the line
        raise LineError("invalid JSON: a number has too many digits") from None
    if not isinstance(value, dict):
        raise LineError(f"expected a JSON object, got {type_name(value)}")
    return value


def format_results(scores: Iterable[UserScore]) -> Iterator[str]:
    """One JSON object per user, in the order given (score_events sorts highest first).

    The reference for the output format: run_score_cli writes the same bytes from
    arrays (tests/scoring/test_jsonl.py holds the two together).
    """
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


class _EventTable:
    """The accepted lines as columns: what score_events builds from Interaction
    objects, without building them (half a million dataclasses cost more than the
    scoring itself)."""

    def __init__(self, community: str | None) -> None:
        self.community = community
        self.communities: set[str] = set()
        self.index: dict[str, int] = {}  # id -> provisional number, first seen first
        self.platform_index: dict[str, int] = {}
        # Spellings of "kind" already accepted -> Kind, for add_plain.
        self.kind_codes: dict[str, Kind] = {}
        self.actor: list[int] = []
        self.target: list[int] = []
        self.kind: list[int] = []
        self.ts: list[float] = []
        self.weight: list[float] = []
        self.platform: list[int] = []
        self.profiles: list[Profile] = []

    def add(self, record: EventFields | Profile, kind_text: Any = None) -> None:
        index = self.index
        if isinstance(record, Profile):
            index.setdefault(record.user, len(index))
            self.profiles.append(record)
            return
        actor, target, kind, ts, platform, community, weight = record
        if type(kind_text) is str and len(self.kind_codes) < 64:
            self.kind_codes[kind_text] = kind
        if community is not None:
            self.communities.add(community)
        if self.community is not None and community != self.community:
            return
        a = index.get(actor)
        if a is None:
            a = index[actor] = len(index)
        if target is None:
            t = -1
        else:
            t = index.get(target)
            if t is None:
                t = index[target] = len(index)
        p = self.platform_index.get(platform)
        if p is None:
            p = self.platform_index[platform] = len(self.platform_index)
        self._append(a, t, kind, ts, weight, p)

    def _append(self, a: int, t: int, kind: int, ts: float, weight: float, p: int) -> None:
        self.actor.append(a)
        self.target.append(t)
        self.kind.append(kind)
        self.ts.append(ts)
        self.weight.append(weight)
        self.platform.append(p)

    def add_plain(self, obj: Any) -> bool:
        """Add an event whose every field has a form no check can refuse (a kind
        spelling already accepted, plain printable ids, a platform already seen,
        epoch seconds in range, a plain weight, no community); False, having added
        nothing, for anything else: FieldReader's full checks then decide, with
        their exact messages."""
        if type(obj) is not dict:
            return False
        get = obj.get
        try:
            kind = self.kind_codes[get("kind")]
            p = self.platform_index[get("platform", "discord")]
        except (KeyError, TypeError):  # TypeError: an unhashable value (list, object)
            return False
        actor = get("actor")
        target = get("target")
        if not _plain_id(actor) or (
            (target is not None or kind is not Kind.MESSAGE) and not _plain_id(target)
        ):
            return False
        if kind is Kind.MESSAGE and target is not None:
            return False
        ts = get("ts")
        if type(ts) is not int or not MIN_EPOCH <= ts <= MAX_EPOCH:
            return False
        weight = get("weight", 1.0)
        if type(weight) not in (float, int) or not 0 <= weight <= MAX_EVENT_WEIGHT:
            return False
        if get("community") is not None or self.community is not None:
            return False  # communities are rare in bulk files: the full path handles them
        index = self.index
        a = index.get(actor)
        if a is None:
            a = index[actor] = len(index)
        if target is None:
            t = -1
        else:
            t = index.get(target)
            if t is None:
                t = index[target] = len(index)
        self._append(a, t, kind, float(ts), float(weight), p)
        return True

    def has_lines(self) -> bool:
        return bool(self.actor or self.profiles)


def _plain_id(value: Any) -> bool:
    """An id id_problem certainly accepts: printable (so no bad category and no
    whitespace but U+0020) and not starting or ending with a space."""
    return (
        type(value) is str
        and 0 < len(value) <= MAX_ID_CHARS
        and value.isprintable()
        and value[0] != " "
        and value[-1] != " "
    )


def _score_table(table: _EventTable, now: float, config: ScoringConfig) -> list[str]:
    """score_events' result for the same lines, formatted as format_results would."""
    # score_events numbers users and platforms in sorted order; renumber to match.
    ids = list(table.index)
    users = sorted(ids)
    rank = _ranks(ids, users)
    platforms = sorted(table.platform_index)
    platform_rank = _ranks(list(table.platform_index), platforms)
    actor = rank[np.array(table.actor, dtype=np.int64)]
    target = np.array(table.target, dtype=np.int64)
    has_target = target >= 0
    target[has_target] = rank[target[has_target]]
    arrays = InteractionArrays(
        actor,
        target,
        np.array(table.kind, dtype=np.uint8),
        np.array(table.ts, dtype=np.float64),
        len(users),
        np.array(table.weight, dtype=np.float64),
        platform_rank[np.array(table.platform, dtype=np.int64)],
    )
    facts = _facts_from_profiles(table.profiles, _Numbering(table.index, rank), {})
    result = score_arrays(arrays, facts, now, config)
    return _rows(users, platforms, result, facts.is_bot, config)


class _Numbering(Mapping[str, int]):
    """id -> final user number, without a second dict of every id."""

    def __init__(self, index: dict[str, int], rank: np.ndarray) -> None:
        self._index, self._rank = index, rank

    def __getitem__(self, user: str) -> int:
        return int(self._rank[self._index[user]])

    def __len__(self) -> int:
        return len(self._index)

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)


def _ranks(items: list[str], ordered: list[str]) -> np.ndarray:
    """rank[i] = position of items[i] in `ordered` (a sorted copy of `items`)."""
    position = {item: i for i, item in enumerate(ordered)}
    return np.fromiter((position[item] for item in items), dtype=np.int64, count=len(items))


def _rows(
    users: list[str], platforms: list[str], result: Any, is_bot: np.ndarray, config: ScoringConfig
) -> list[str]:
    """format_results(score_events(...)) from the arrays: same keys, same order, same
    rounding (Python's round, then repr, as json.dumps does), same sort."""
    kept = np.flatnonzero(~np.asarray(is_bot, dtype=bool))
    raw = result.raw
    # score_events sorts by (-score, -raw, user); users are numbered in sorted order.
    order = kept[np.lexsort((kept, -raw[kept], -result.score[kept].astype(np.int64)))]
    columns = [raw[order], result.propagated[order], result.prior[order]]
    parts = result.by_platform[order, : min(len(platforms), result.by_platform.shape[1])]
    # Few distinct values (leaves of the graph score alike): format each once. 0.0
    # and -0.0 are one dict key but two texts, so zero is cached only if no -0.0.
    texts: dict[float, str] = {}
    if not any(bool((np.signbit(c) & (c == 0)).any()) for c in [*columns, parts]):
        texts[0.0] = "0.0"

    def text(value: float) -> str:
        known = _number(value)
        if value != 0.0:
            texts[value] = known
        return known

    encode = json.encoder.encode_basestring  # type: ignore[attr-defined]
    # Only users who earned something on a network list it (as score_events does).
    network = [""] * len(order)
    for code in range(parts.shape[1]):
        label = f", {encode(f'network:{platforms[code]}')}: "
        column = parts[:, code]
        for k in np.flatnonzero(column > 0).tolist():
            value = float(column[k])
            network[k] += label + (texts.get(value) or text(value))
    model_version = encode(result.model_version)
    tiers = {s: encode(config.tier_for(s)) for s in range(1, 101)}
    lines = []
    rows = zip(
        order.tolist(),
        result.score[order].tolist(),
        *(c.tolist() for c in columns),
        result.distinct_actors[order].tolist(),
        network,
        strict=True,
    )
    for i, score, raw_i, propagated, prior, distinct, networks in rows:
        score = int(score)
        tier = tiers.get(score) or encode(config.tier_for(score))
        lines.append(
            f'{{"user": {encode(users[i])}, "score": {score}, "tier": {tier}, '
            f'"raw": {texts.get(raw_i) or text(raw_i)}, '
            f'"components": {{"propagated": {texts.get(propagated) or text(propagated)}, '
            f'"audience_points": {texts.get(prior) or text(prior)}{networks}}}, '
            f'"distinct_actors": {distinct}, "model_version": {model_version}}}'
        )
    return lines


def _number(value: float) -> str:
    """json.dumps(round(value, 6))."""
    value = round(value, 6)
    if math.isfinite(value):
        return float.__repr__(value)
    return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")


def run_score_cli(
    lines: Iterable[Line],
    now: float | datetime,
    config: ScoringConfig | None = None,
    strict: bool = False,
    community: str | None = None,
) -> CliOutcome:
    """Everything `klout-bot score` does after reading the file and the clock.

    Exit code 0: scored (problem lines, if any, were skipped and are reported).
    Exit code 1: --strict and at least one problem (nothing is scored), or
    problems and not a single usable line, or --community names a community no
    event belongs to.
    """
    table = _EventTable(community)
    reader = FieldReader()
    problems = []
    add_plain, loads, decode_error = table.add_plain, orjson.loads, orjson.JSONDecodeError
    for number, line in enumerate(lines, start=1):
        # The common line (bytes, not the first, which may carry a BOM) is parsed
        # once and added by add_plain; the rest takes the path parse_lines takes.
        obj: Any = None
        if number > 1 and type(line) is bytes and len(line) <= MAX_LINE_CHARS:
            try:
                obj = loads(line)
            except decode_error:
                obj = None
            else:
                if add_plain(obj):
                    continue
        try:
            if type(obj) is not dict:
                obj = _decode(line, first=number == 1)
            if obj is not None:
                table.add(reader.record(obj), obj.get("kind"))
        except LineError as exc:
            problems.append(f"line {number}: {exc}")
    if problems and (strict or not table.has_lines()):
        return CliOutcome([], problems, 1)
    if community is not None and community not in table.communities:
        known = ", ".join(repr(c) for c in sorted(table.communities)[:10]) or "none"
        problems.append(f"no events in community {community!r} (communities seen: {known})")
        return CliOutcome([], problems, 1)
    return CliOutcome(_score_table(table, to_epoch(now), config or ScoringConfig()), problems, 0)
