"""A byte-level reader for runs of plain `klout-bot score` lines. Pure.

Most files are written by one program: every line has the same keys in the same
order with the same spacing, its strings are printable ASCII without escapes and
its `ts` is an integer or a string. For a run of such lines, one regular
expression built from the run's first line checks the shape of every line at C
speed, and numpy takes the values out of the joined bytes by quote position: no
dict and no str per line, each distinct kind, platform and time string checked
once.

It only ever takes what the strict path (jsonl.py, FieldReader) would take
unchanged, and gives the same columns: a line matching the pattern is the first
line with other plain strings and digits in the same places, so it is valid JSON
with the same keys, and every value is checked against the same limits. Anything
it is not sure of (another layout, an escape, a non-ASCII byte, null, a float, a
value out of range, an unknown kind, a profile) ends the run, and the caller reads
the rest the strict way, which words each problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
from numpy.lib.stride_tricks import sliding_window_view

from scoring.jsonl_fields import MAX_EPOCH, MAX_ID_CHARS, FieldReader, LineError, parse_timestamp
from scoring.kinds import Kind

if TYPE_CHECKING:
    from scoring.jsonl_table import EventTable

# A JSON string that is its own text: printable ASCII but the quote and backslash.
_PLAIN = rb'"[ !#-\[\]-~]*+"'
# Epoch seconds as JSON writes them: no sign (MIN_EPOCH is 0), no leading zero, and
# at most as many digits as MAX_EPOCH.
_DIGITS = len(str(MAX_EPOCH))
_EPOCH = rb"(?:0|[1-9][0-9]{0,%d})" % (_DIGITS - 1)
# Other integers (keys the format ignores): any JSON integer.
_INTEGER = rb"-?(?:0|[1-9][0-9]{0,17})"  # within orjson's range, as the first line was
_NUMBER_TEXT = re.compile(rb"-?[0-9]+")
_QUOTE, _NEWLINE, _SPACE = ord('"'), ord("\n"), ord(" ")
# Fields the fast path takes out; any other key's value is ignored, as FieldReader does.
_IDS = ("actor", "target", "community")
_FIELDS = frozenset({"kind", "actor", "target", "ts", "platform", "community"})
# Keys FieldReader reads on an event line; "weight" is left to the strict path.
_READ = _FIELDS | {"weight"}
_MAX_LAYOUTS = 64
# The longest string value read: more than any acceptable id, kind or platform.
_MAX_FIELD_BYTES = MAX_ID_CHARS
_PLACES = 10 ** np.arange(_DIGITS - 1, -1, -1, dtype=np.int64)


@dataclass(frozen=True)
class Layout:
    """Where each field sits in a line of one shape."""

    runs: re.Pattern[bytes]  # matches whole lines of this shape, each with its b"\n"
    quotes: int  # quotes per line
    strings: dict[str, int]  # field -> index of its opening quote
    ts_quote: int  # index of the quote that closes the "ts" key; -1 if ts is a string
    ts_offsets: tuple[int, int]  # digits start this far after it, end this far before
    # the next quote (or the line's end, when ts is the last value)


@lru_cache(maxsize=_MAX_LAYOUTS)
def layout_of(line: bytes) -> Layout | None:
    """The layout of `line`, if the fast path can read lines shaped like it."""
    if b"\\" in line or b"\n" in line or not line.isascii():
        return None
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if type(obj) is not dict or not {"kind", "actor", "ts"} <= obj.keys():
        return None
    quotes = [m.start() for m in re.finditer(b'"', line)]
    # Walk the keys in order, checking each string sits where its key says, and
    # build the pattern from the line's own bytes between the strings.
    pattern: list[bytes] = []
    strings: dict[str, int] = {}
    ts_quote, ts_offsets = -1, (0, 0)
    q = 0  # the next string's opening quote
    end = 0  # where the text not yet in the pattern starts
    for key, value in obj.items():
        if q + 1 >= len(quotes) or line[quotes[q] + 1 : quotes[q + 1]] != key.encode():
            return None  # a duplicate key, or a shape orjson reads differently
        key_text = line[quotes[q] : quotes[q + 1] + 1]
        pattern += [re.escape(line[end : quotes[q]]), re.escape(key_text)]
        end = quotes[q + 1] + 1
        key_close = q + 1
        q += 2
        if type(value) is str:
            if key == "weight":
                return None
            if key in _FIELDS:
                strings[key] = q
            pattern += [re.escape(line[end : quotes[q]]), _PLAIN]
            end = quotes[q + 1] + 1
            q += 2
        elif type(value) is int and (key == "ts" or key not in _READ):
            stop = quotes[q] if q < len(quotes) else len(line)
            number = _NUMBER_TEXT.search(line, end, stop)
            if number is None:  # pragma: no cover - orjson read an int here
                return None
            pattern += [re.escape(line[end : number.start()])]
            pattern += [_EPOCH if key == "ts" else _INTEGER]
            if key == "ts":
                ts_quote = key_close
                ts_offsets = (number.start() - end + 1, stop - number.end())
            end = number.end()
        else:
            return None  # null, a float, a boolean, an array or an object
    if q != len(quotes):  # a duplicate key at the end: orjson kept one of them
        return None
    if "target" not in strings and obj.get("kind", "").strip().lower() != "message":
        return None  # lines that the strict path would refuse for a missing target
    pattern.append(re.escape(line[end:]))
    return Layout(
        runs=re.compile(b"(?:" + b"".join(pattern) + b"\n)*"),
        quotes=len(quotes),
        strings=strings,
        ts_quote=ts_quote,
        ts_offsets=ts_offsets,
    )


def add_plain_run(lines: list[bytes], table: EventTable, reader: FieldReader) -> int:
    """Add the longest run of plain lines at the start of `lines` shaped like the
    first; returns how many lines were added (0: none, the caller reads them)."""
    layout = layout_of(lines[0])
    if layout is None:
        return 0
    # The padding lets every field be read as a fixed-width window (see _windows).
    text = b"\n".join(lines) + b"\n" + bytes(_MAX_FIELD_BYTES)
    matched = layout.runs.match(text)
    end = matched.end() if matched else 0
    count = text.count(b"\n", 0, end)
    if not count:
        return 0
    columns = _columns(np.frombuffer(text, dtype=np.uint8), end, count, layout, table, reader)
    if columns is None:
        return 0
    table.add_columns(*columns)
    return count


def _columns(
    padded: np.ndarray, end: int, n: int, layout: Layout, table: EventTable, reader: FieldReader
) -> tuple[Any, ...] | None:
    """The run's columns for EventTable.add_columns, or None if any line would be refused.
    The run is padded[:end], n lines; the rest is padding."""
    buf = padded[:end]
    quotes = np.flatnonzero(buf == _QUOTE).reshape(n, layout.quotes)
    fields: dict[str, np.ndarray] = {}
    for name, q in layout.strings.items():
        start = quotes[:, q] + 1
        length = quotes[:, q + 1] - start
        if length.min() < 1 or length.max() > _MAX_FIELD_BYTES:
            return None  # empty, or longer than any acceptable id, kind or platform
        fields[name] = _gather(padded, start, length)
        if name in _IDS:
            # Printable ASCII: only a space could be leading or trailing whitespace.
            spaced = (buf[start] == _SPACE) | (buf[start + length - 1] == _SPACE)
            if spaced.any():
                return None
    kinds = _coded(fields["kind"], reader.kind)
    if kinds is None:
        return None
    kind_codes, kind_values = kinds
    if not all(isinstance(k, Kind) for k in kind_values):
        return None  # profiles and unknown kinds
    has_target = "target" in fields
    if any((k is Kind.MESSAGE) == has_target for k in kind_values):
        return None  # a message with a target, or a reply without one
    kind = np.array([int(k) for k in kind_values], dtype=np.uint8)[kind_codes]
    if "platform" in fields:
        platforms = _coded(fields["platform"], lambda name: table.platform_code(reader, name))
        if platforms is None:
            return None
        codes, values = platforms
        platform = np.array(values, dtype=np.int64)[codes]
    else:
        platform = np.full(n, table.platform_code(reader, "discord"), dtype=np.int64)
    ts = _times(padded, buf, quotes, layout, fields)
    if ts is None:
        return None
    community = None
    if "community" in fields:
        names = np.unique(fields["community"])
        community = (fields["community"], [name.decode() for name in names.tolist()])
    return fields["actor"], fields.get("target"), kind, ts, platform, community


def _windows(padded: np.ndarray, start: np.ndarray, width: int) -> np.ndarray:
    """padded[s : s + width] for every s in start, as rows: one copy of each row,
    cheaper than fancy indexing by a 2-D index."""
    return sliding_window_view(padded, width)[start]


def _gather(padded: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The strings padded[start:start+length] as one fixed-width bytes array."""
    width = int(length.max())
    block = _windows(padded, start, width)
    block *= np.arange(width) < length[:, None]  # ids hold no NUL: padding is unambiguous
    return block.view(f"S{width}").ravel()


def _coded(values: np.ndarray, check: Any) -> tuple[np.ndarray, list[Any]] | None:
    """(code per line, checked value per code) for a column of few distinct values."""
    if (values == values[0]).all():  # the usual platform, say
        distinct, codes = values[:1], np.zeros(len(values), dtype=np.int64)
    else:
        distinct, codes = unique_ids(values)
    try:
        return codes, [check(v.decode()) for v in distinct.tolist()]
    except LineError:
        return None


def unique_ids(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(ids, return_inverse=True) for an array of bytes. Ids of up to 8
    bytes are sorted as one big-endian integer each: the same order (zero padding
    sorts first, and ids hold no NUL), and twice as fast as numpy's bytes sort."""
    if ids.dtype.kind == "S" and ids.dtype.itemsize <= 8:
        words = np.zeros((len(ids), 8), dtype=np.uint8)
        words[:, : ids.dtype.itemsize] = ids.view(np.uint8).reshape(len(ids), -1)
        keys, number = np.unique(words.view(">u8").ravel(), return_inverse=True)
        return keys.astype(">u8").view("S8"), number.ravel()
    unique, number = np.unique(ids, return_inverse=True)
    return unique, number.ravel()


def _times(
    padded: np.ndarray,
    buf: np.ndarray,
    quotes: np.ndarray,
    layout: Layout,
    fields: dict[str, np.ndarray],
) -> np.ndarray | None:
    if layout.ts_quote < 0:  # ISO strings: each distinct one parsed once
        coded = _coded(fields["ts"], parse_timestamp)
        if coded is None:
            return None
        codes, seconds = coded
        return np.array(seconds, dtype=np.float64)[codes]
    after, before = layout.ts_offsets
    start = quotes[:, layout.ts_quote] + after
    if layout.ts_quote + 1 < layout.quotes:
        stop = quotes[:, layout.ts_quote + 1] - before
    else:  # the last value: it ends with the line
        stop = np.flatnonzero(buf == _NEWLINE) - before
    length = stop - start  # 1.._DIGITS, as the pattern matched
    # The _DIGITS bytes that end where the number ends (the key is before it, so
    # they never start before the buffer), digits right-aligned; the bytes before
    # the number count as zero.
    block = _windows(padded, stop - _DIGITS, _DIGITS).astype(np.int64) - ord("0")
    block *= np.arange(_DIGITS) >= _DIGITS - length[:, None]
    value = block @ _PLACES
    if value.max() > MAX_EPOCH:
        return None
    return value.astype(np.float64)
