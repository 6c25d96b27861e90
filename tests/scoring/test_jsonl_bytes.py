"""The byte-level reader (scoring/jsonl_bytes.py) takes runs of plain lines; these
hold it to the strict reference (parse_lines -> score_events -> format_results):
what it takes must come out byte for byte the same, and every line it must not
take (an escape, a non-ASCII byte, a value out of range...) must still be reported
by the strict path with its own words."""

import json

import pytest

from scoring.jsonl import read_table, run_score_cli
from scoring.jsonl_bytes import layout_of

from .helpers import NOW
from .helpers import jsonl_reference as _reference

T = int(NOW) - 3600


def _events(n: int, **extra) -> list[dict]:
    return [{"kind": ["reply", "retweet", "Mention"][i % 3], "actor": f"u{i % 97}",
             "target": f"u{(i * 7) % 31}", "ts": T - i * 60, **extra} for i in range(n)]


def _check(lines: list[str], community: str | None = None, *, fast: bool | None) -> None:
    """Same rows and problems as the reference; `fast`: whether the byte-level reader
    must (True) or must not (False) have taken lines, None: either."""
    expected_rows, expected_problems = _reference(lines, community)
    given = [x.encode() for x in lines]
    out = run_score_cli(given, NOW, community=community)
    assert out.problems == expected_problems
    assert out.output == expected_rows
    table, _ = read_table(given, community)
    assert fast is None or bool(table._runs) == fast


COMPACT = {"separators": (",", ":")}
LAYOUTS = [
    ([json.dumps(e, **COMPACT) for e in _events(3000)], None),
    ([json.dumps(e) for e in _events(3000)], None),  # json.dumps' own spacing
    ([json.dumps(e, indent=None, separators=(" , ", " : ")) for e in _events(3000)], None),
    ([json.dumps({"ts": e["ts"], "target": e["target"], "kind": e["kind"], "actor": e["actor"],
                  "platform": "Twitter"}) for e in _events(3000)], None),  # any key order
    ([json.dumps(e) + "\r" for e in _events(3000)], None),  # CRLF
    ([json.dumps({**e, "ts": f"2026-10-2{i % 10}T12:00:0{i % 7}Z"})
      for i, e in enumerate(_events(3000))], None),  # ISO times
    ([json.dumps({**e, "community": f"c{i % 3}"}) for i, e in enumerate(_events(3000))], None),
    ([json.dumps({**e, "community": f"c{i % 3}"}) for i, e in enumerate(_events(3000))], "c1"),
    ([json.dumps({**e, "community": "c1"}) if i % 500 == 0 else json.dumps(e)
      for i, e in enumerate(_events(3000))], "c1"),  # lines without a community
    ([json.dumps({**e, "note": "x", "n": -12}) for e in _events(3000)], None),  # ignored keys
    ([json.dumps({"kind": "message", "actor": f"u{i}", "ts": T}) for i in range(3000)], None),
]


@pytest.mark.parametrize(("lines", "community"), LAYOUTS)
def test_plain_layouts_go_fast_and_match(lines, community):
    _check(["", *lines], community, fast=True)  # line 1 always goes the strict way


# Each line breaks, or might break, one rule the pattern or the checks must catch.
ODD = [
    {"actor": "u 1"}, {"actor": " u1"}, {"actor": "u1 "}, {"actor": ""}, {"actor": "x" * 257},
    {"actor": "x" * 256}, {"actor": "ünï"}, {"actor": "a\u200bb"}, {"actor": "a\"b"},
    {"actor": "a\\b"}, {"actor": "a\u007fb"}, {"actor": 5}, {"actor": None},
    {"target": None}, {"kind": "message"}, {"kind": "poke"}, {"kind": " reply "},
    {"kind": "profile"}, {"kind": ""}, {"ts": -1}, {"ts": 0}, {"ts": 32_503_680_000},
    {"ts": 32_503_680_001}, {"ts": 99_999_999_999}, {"ts": 10**40}, {"ts": 1.5},
    {"ts": "2026-10-30T12:00:00"}, {"ts": "9999-12-31T00:00:00Z"}, {"ts": True},
    {"platform": "Disc ord"}, {"platform": ""}, {"platform": "TWITTER"}, {"weight": 2},
    {"weight": 1001}, {"community": ""}, {"community": " c"}, {"extra": 10**30},
    {"extra": 1.5}, {"extra": None}, {"extra": [1]},
]


@pytest.mark.parametrize("change", ODD, ids=[json.dumps(c)[:30] for c in ODD])
def test_odd_lines_amid_plain_ones_are_read_the_strict_way(change):
    base = _events(2000, platform="twitter")
    odd = json.dumps({**base[1500], **change})
    lines = [json.dumps(e) for e in base]
    _check(["", *lines[:1500], odd, *lines[1500:]], fast=True)
    _check(["", odd, *lines], fast=None)  # an odd first line: the batch may go by orjson


@pytest.mark.parametrize("text", [
    '{"kind":"reply","kind":"like","actor":"a","target":"b","ts":1}',
    '{"kind":"reply","actor":"a","target":"b","ts":1,"actor":"c"}',
    '{"kind":"reply","actor":"a","target":"b","ts":01}',
    '{"kind":"reply","actor":"a","target":"b","ts":1}\n',
    '{"kind":"reply","actor":"a","target":"b","ts":"1\\u0030"}',
    '{"kind":"reply","actor":"é","target":"b","ts":1}',
    '{"kind":"reply","actor":"a","ts":1}',
    '{"kind":"reply","actor":"a","target":"b"}',
    '[{"kind":"reply","actor":"a","target":"b","ts":1}]',
])
def test_no_layout_for_lines_it_cannot_read(text):
    assert layout_of(text.encode()) is None


def test_ids_sort_in_code_point_order_whatever_path_numbered_them():
    """Users are numbered by their sorted UTF-8 bytes, whichever reader saw them:
    the order of sorted(str), as score_events numbers them."""
    ids = ["b", "é", "z", "a\u00a0b", "用户", "\U0001f600", "\uffff", "ab", "a", "x" * 256]
    lines = [json.dumps({"kind": "reply", "actor": a, "target": b, "ts": T})
             for a in ids for b in ids if a != b]
    lines += [json.dumps({"kind": "reply", "actor": f"p{i}", "target": "b", "ts": T})
              for i in range(500)]
    users, _, _, _ = read_table([x.encode() for x in ["", *lines]])[0].inputs()
    assert users == sorted(users)
    _check(["", *lines], fast=True)
