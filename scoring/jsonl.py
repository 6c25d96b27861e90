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

import itertools
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, cast

import numpy as np
import orjson

from scoring.config import ScoringConfig
from scoring.engine import score_arrays
from scoring.jsonl_bytes import add_plain_run
from scoring.jsonl_fields import (
    MAX_EPOCH,
    MAX_ID_CHARS,
    EventFields,
    FieldReader,
    LineError,
    id_problem,
    parse_timestamp,
    type_name,
)
from scoring.jsonl_table import EventTable
from scoring.records import Interaction, Profile, UserScore
from scoring.timeutil import to_epoch

__all__ = [
    "MAX_EPOCH",
    "MAX_ID_CHARS",
    "MAX_LINE_BYTES",
    "MAX_LINE_CHARS",
    "CliOutcome",
    "CliText",
    "OverlongLine",
    "ParseResult",
    "format_results",
    "id_problem",
    "parse_lines",
    "parse_timestamp",
    "run_score_cli",
    "score_cli_text",
]

MAX_LINE_CHARS = 1_000_000
# The most bytes a line of MAX_LINE_CHARS characters can take in UTF-8 (plus CRLF):
# a reader may drop anything longer unread, it cannot be acceptable.
MAX_LINE_BYTES = 4 * MAX_LINE_CHARS + 2
_BATCH_LINES = 4096
_SMALLEST_BATCH = 32
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


class CliText(NamedTuple):
    """CliOutcome with the rows as one text, each row ended by a newline."""

    text: str
    problems: list[str]
    exit_code: int


Line = str | bytes | OverlongLine


def _record(reader: FieldReader, line: Line, number: int) -> EventFields | Profile | str | None:
    """The line's record, the problem with it, or None for a blank line."""
    try:
        obj = _decode(line, first=number == 1)
        return None if obj is None else reader.record(obj)
    except LineError as exc:
        return str(exc)


def parse_lines(lines: Iterable[Line]) -> ParseResult:
    """Parse JSONL; line numbers are 1-based; blank lines are skipped silently."""
    result = ParseResult()
    reader = FieldReader()
    for number, line in enumerate(lines, start=1):
        record = _record(reader, line, number)
        if record is None:
            continue
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
        # Without the line break, an error at the end of the line is reported at
        # its column instead of at "line 2, column 1".
        value = json.loads(line.rstrip("\r\n"))
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


def _score_table(table: EventTable, now: float, config: ScoringConfig) -> str:
    """score_events' result for the same lines, formatted as format_results would:
    the rows, each ended by a newline."""
    users, platforms, arrays, facts = table.inputs()
    result = score_arrays(arrays, facts, now, config)
    return _rows_text(users, platforms, result, facts.is_bot, config)


def _rows_text(
    users: list[str], platforms: list[str], result: Any, is_bot: np.ndarray, config: ScoringConfig
) -> str:
    """format_results(score_events(...)) from the arrays, each row ended by a newline:
    same keys, same order, same rounding (Python's round, then repr, as json.dumps
    does), same sort. Everything after the user depends on a few columns, and rows
    come sorted by score and raw, so most rows share it with their neighbours (on
    Higgs, 305k rows have 23k such runs): each run's text is formatted once and its
    users joined with it in one str.join."""
    kept = np.flatnonzero(~np.asarray(is_bot, dtype=bool))
    if not len(kept):
        return ""
    raw = result.raw
    # score_events sorts by (-score, -raw, user); users are numbered in sorted order.
    order = kept[np.lexsort((kept, -raw[kept], -result.score[kept].astype(np.int64)))]
    parts = result.by_platform[order, : min(len(platforms), result.by_platform.shape[1])]
    score = result.score[order].astype(np.int64)
    columns = {
        "raw": np.ascontiguousarray(raw[order], dtype=np.float64),
        "propagated": np.ascontiguousarray(result.propagated[order], dtype=np.float64),
        "prior": np.ascontiguousarray(result.prior[order], dtype=np.float64),
    }
    networks = [
        np.ascontiguousarray(parts[:, code], dtype=np.float64) for code in range(parts.shape[1])
    ]
    distinct = np.asarray(result.distinct_actors[order], dtype=np.int64)
    # A run starts where any of those columns changes; floats compared as bits, since
    # 0.0 and -0.0 are equal numbers but two texts.
    starts = np.zeros(len(order), dtype=bool)
    starts[0] = True
    for column in [score, distinct, *(c.view(np.int64) for c in [*columns.values(), *networks])]:
        starts[1:] |= column[1:] != column[:-1]
    first = np.flatnonzero(starts)
    encode = json.encoder.encode_basestring
    model_version = encode(result.model_version)
    texts = {name: map(_number, column[first].tolist()) for name, column in columns.items()}
    network = [""] * len(first)
    for code, column in enumerate(networks):
        label = f", {encode(f'network:{platforms[code]}')}: "
        values = column[first]
        # Only users who earned something on a network list it (as score_events does).
        for k in np.flatnonzero(values > 0).tolist():
            network[k] += label + _number(float(values[k]))
    scores = score[first].tolist()
    tiers = {s: encode(config.tier_for(s)) for s in set(scores)}
    suffixes = [
        f', "score": {score_i}, "tier": {tiers[score_i]}, "raw": {raw_i}, "components": '
        f'{{"propagated": {propagated_i}, "audience_points": {prior_i}{networks_i}}}, '
        f'"distinct_actors": {distinct_i}, "model_version": {model_version}}}\n'
        for score_i, raw_i, propagated_i, prior_i, networks_i, distinct_i in zip(
            scores, texts["raw"], texts["propagated"], texts["prior"], network,
            distinct[first].tolist(), strict=True,
        )
    ]
    names = list(map(encode, map(users.__getitem__, order.tolist())))
    head = '{"user": '
    bounds = [*first.tolist(), len(order)]
    return "".join(
        [
            head + (suffix + head).join(names[bounds[r] : bounds[r + 1]]) + suffix
            for r, suffix in enumerate(suffixes)
        ]
    )


def _number(value: float) -> str:
    """json.dumps(round(value, 6))."""
    value = round(value, 6)
    if math.isfinite(value):
        return float.__repr__(value)
    return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")


def _batches(lines: Iterable[Line]) -> Iterator[list[Line]]:
    """The first line alone (it may start with a BOM), then _BATCH_LINES at a time."""
    iterator = iter(lines)
    size = 1
    while batch := list(itertools.islice(iterator, size)):
        yield batch
        size = _BATCH_LINES


def _decoded_batch(batch: list[Line], table: EventTable, reader: FieldReader) -> bool:
    """Decode and add the whole batch if every line is short, valid JSON and
    acceptable as it is; False (nothing added) otherwise."""
    if not set(map(type, batch)) <= {bytes, str}:  # an OverlongLine
        return False
    lines = cast(list[bytes | str], batch)
    if max(map(len, lines)) > MAX_LINE_CHARS:
        return False
    try:
        objs = list(map(orjson.loads, lines))
    except orjson.JSONDecodeError:
        return False
    return table.add_batch(objs, reader)


def read_table(
    lines: Iterable[Line], community: str | None = None
) -> tuple[EventTable, list[str]]:
    """The accepted lines as columns, and the problems ("line N: ...") with the rest."""
    table = EventTable(community)
    reader = FieldReader()
    problems: list[str] = []
    number = 1
    for batch in _batches(lines):
        _read_batch(batch, number, table, reader, problems)
        number += len(batch)
    return table, problems


def _read_batch(
    batch: list[Line], first: int, table: EventTable, reader: FieldReader, problems: list[str]
) -> None:
    """Plain lines go in column-wise, a whole batch at a time; a batch with anything
    doubtful is halved until the doubtful lines go one by one, each problem worded
    by FieldReader. Line 1 always goes alone (it may start with a BOM). Before
    either, the byte-level reader takes the batch's leading run of plain lines."""
    if first > 1:
        if set(map(type, batch)) == {bytes}:
            taken = add_plain_run(cast(list[bytes], batch), table, reader)
            if taken == len(batch):
                return
            if taken:
                _read_batch(batch[taken:], first + taken, table, reader, problems)
                return
        if _decoded_batch(batch, table, reader):
            return
    if len(batch) > _SMALLEST_BATCH:
        half = len(batch) // 2
        _read_batch(batch[:half], first, table, reader, problems)
        _read_batch(batch[half:], first + half, table, reader, problems)
        return
    for number, line in enumerate(batch, start=first):
        record = _record(reader, line, number)
        if isinstance(record, str):
            problems.append(f"line {number}: {record}")
        elif record is not None:
            table.add(record)


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
    text, problems, code = score_cli_text(lines, now, config, strict, community)
    return CliOutcome(text.split("\n")[:-1], problems, code)


def score_cli_text(
    lines: Iterable[Line],
    now: float | datetime,
    config: ScoringConfig | None = None,
    strict: bool = False,
    community: str | None = None,
) -> CliText:
    """run_score_cli with the rows as one text (what the command writes)."""
    table, problems = read_table(lines, community)
    if problems and (strict or not table.has_lines()):
        return CliText("", problems, 1)
    if community is not None and community not in table.communities:
        known = ", ".join(repr(c) for c in sorted(table.communities)[:10]) or "none"
        problems.append(f"no events in community {community!r} (communities seen: {known})")
        return CliText("", problems, 1)
    return CliText(_score_table(table, to_epoch(now), config or ScoringConfig()), problems, 0)
