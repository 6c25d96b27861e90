"""`klout-bot score` on hostile input: each file is written at test time, one hostile
line between two good ones, and the command must neither raise nor guess. It says
which line is wrong, skips it (exit 0) or, with --strict, refuses the file (exit 1)."""

import argparse
import io
import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from bot import cli_score

ROOT = Path(__file__).resolve().parents[2]
NOW_ARGS = ["--now", "2026-11-01T00:00:00Z"]
GOOD_A = b'{"kind": "reply", "actor": "ann", "target": "bob", "ts": 1793400000}'
GOOD_B = b'{"kind": "mention", "actor": "cat", "target": "bob", "ts": "2026-10-30T12:00:00Z"}'


def _event(**fields: object) -> bytes:
    base = {"kind": "reply", "actor": "dan", "target": "bob", "ts": 1793400000}
    base.update(fields)
    return json.dumps(base).encode()


def _raw(fragment: str) -> bytes:
    """An event with a field written verbatim (numbers json.dumps would not write)."""
    return ('{"kind": "reply", "actor": "dan", "target": "bob", ' + fragment + "}").encode()


BIG = "1" + "0" * 400  # an integer no float can hold
HUGE = "9" * 5000  # over Python's 4,300-digit int-string limit

# (name, hostile line, text the problem must contain)
CORPUS = [
    ("ts-too-big-for-a-float", _raw(f'"ts": {BIG}'), '"ts" 1000000000'),
    ("ts-5000-digits", _raw(f'"ts": {HUGE}'), "a number has too many digits"),
    ("ts-negative-5000-digits", _raw(f'"ts": -{HUGE}'), "a number has too many digits"),
    ("ts-exponent-overflow", _raw('"ts": 1e999999'), '"ts" inf is not a valid epoch time'),
    ("ts-infinity-token", _raw('"ts": Infinity, "x": 1'), '"ts" inf is not a valid epoch'),
    ("ts-nan-token", _raw('"ts": NaN'), '"ts" nan is not a valid epoch time'),
    ("weight-too-big-for-a-float", _raw(f'"ts": 1793400000, "weight": {BIG}'), '"weight"'),
    ("weight-minus-infinity", _raw('"ts": 1793400000, "weight": -Infinity'), '"weight"'),
    ("followers-too-big", f'{{"kind": "profile", "actor": "bob", "followers": {BIG}}}'.encode(),
     '"followers" must be a whole number 0..'),
    ("listed-5000-digits", f'{{"kind": "profile", "actor": "bob", "listed": {HUGE}}}'.encode(),
     "a number has too many digits"),
    ("created-too-big", f'{{"kind": "profile", "actor": "bob", "created": {BIG}}}'.encode(),
     '"created" 1000000000'),
    ("iso-year-1", _event(ts="0001-01-01T00:00:00Z"), "out of range; times must be between"),
    ("iso-year-9999", _event(ts="9999-12-31T23:59:59+00:00"), "out of range"),
    ("iso-1969", _event(ts="1969-12-31T23:59:59Z"), "out of range"),
    ("epoch-negative", _event(ts=-1), "not a valid epoch time; times must be between"),
    ("epoch-year-3001", _event(ts=32_535_216_000), "too large for epoch seconds"),
    ("created-year-1", b'{"kind": "profile", "actor": "bob", "created": "0001-01-01T00:00:00Z"}',
     '"created" \'0001-01-01T00:00:00Z\' is out of range'),
    ("invalid-utf8", b'{"kind": "reply", "actor": "\xff\xfe", "target": "bob", "ts": 1}',
     "not valid UTF-8"),
    ("lone-surrogate", _raw('"ts": 1793400000, "community": "\\ud800"'), "U+D800"),
    ("surrogate-pair-halves", _raw('"ts": 1793400000, "target": "\\udc00\\ud800"'), "U+DC00"),
    ("bom-not-on-line-1", b"\xef\xbb\xbf" + GOOD_A, "invalid JSON"),
    ("nested-junk-kind", _raw('"ts": 1, "kind": {"a": [1, {"b": null}]}'),
     '"kind" must be a string, got an object'),
    ("nested-junk-actor", _raw('"ts": 1793400000, "actor": [[["x"]]]'),
     '"actor" must be a string, got an array'),
    ("deep-nesting", b"[" * 100_000 + b"]" * 100_000, "invalid JSON"),
    ("deep-object", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "invalid JSON"),
    ("top-level-string", b'"reply"', "expected a JSON object, got a string"),
    ("truncated", b'{"kind": "reply", "actor": "dan"', "invalid JSON"),
    ("nul-byte", b'{"kind": "reply", "actor": "d\x00n", "target": "bob", "ts": 1}',
     "invalid JSON"),
    ("over-long-line", b'{"kind": "reply", "actor": "' + b"x" * 1_000_001 + b'"}',
     "line longer than 1000000 characters"),
    ("over-long-multibyte", ('{"actor": "' + "é" * 1_000_001 + '"}').encode(),
     "line longer than 1000000 characters"),
]


def _score(tmp_path, data: bytes, *extra: str) -> tuple[int, str]:
    path = tmp_path / "events.jsonl"
    path.write_bytes(data)
    parser = argparse.ArgumentParser()
    cli_score.add_parser(parser.add_subparsers(dest="command"))
    code = cli_score.run(parser.parse_args(["score", str(path), *NOW_ARGS, *extra]))
    return code, str(path)


@pytest.mark.parametrize(("name", "line", "needle"), CORPUS, ids=[c[0] for c in CORPUS])
def test_hostile_line_is_named_and_skipped_or_refused(tmp_path, capsys, name, line, needle):
    data = GOOD_A + b"\n" + line + b"\n" + GOOD_B + b"\n"
    code, path = _score(tmp_path, data)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"{path}: line 2: " in err and needle in err, err
    assert err.count("\n") == 1, err  # one problem, nothing else (no traceback)
    users = {json.loads(row)["user"] for row in out.splitlines()}
    assert {"ann", "bob", "cat"} <= users
    assert "dan" not in users
    code, _ = _score(tmp_path, data, "--strict")
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert f"{path}: line 2: " in err and needle in err, err


def test_bom_crlf_and_blank_lines_are_accepted(tmp_path, capsys):
    plain = GOOD_A + b"\n" + GOOD_B + b"\n"
    _score(tmp_path, plain)
    expected = capsys.readouterr().out
    awkward = b"\xef\xbb\xbf" + GOOD_A + b"\r\n\r\n   \r\n\n" + GOOD_B + b"\r\n\n"
    code, _ = _score(tmp_path, awkward, "--strict")
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert out == expected


def test_unknown_community_is_an_error(tmp_path, capsys):
    data = GOOD_A + b"\n" + _event(community="guild-1") + b"\n"
    code, path = _score(tmp_path, data, "--community", "nope")
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert f"{path}: no events in community 'nope' (communities seen: 'guild-1')" in err
    code, _ = _score(tmp_path, data, "--community", "guild-1")
    out, _ = capsys.readouterr()
    assert code == 0 and {json.loads(r)["user"] for r in out.splitlines()} == {"dan", "bob"}


def test_over_long_line_is_not_held_in_memory(tmp_path, capsys):
    """A 64 MB line used to be read whole (and decoded: twice its size); now the
    reader holds at most a chunk and MAX_LINE_BYTES of it."""
    path = tmp_path / "events.jsonl"
    with path.open("wb") as handle:
        handle.write(GOOD_A + b"\n" + b'{"actor": "')
        block = b"x" * (1 << 20)
        for _ in range(64):
            handle.write(block)
        handle.write(b'"}\n' + GOOD_B + b"\n")
    parser = argparse.ArgumentParser()
    cli_score.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["score", str(path), *NOW_ARGS])
    tracemalloc.start()
    try:
        code = cli_score.run(args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    err = capsys.readouterr().err
    assert code == 0
    assert "line 2: line longer than 1000000 characters" in err
    assert peak < 24 * 2**20, f"peak {peak / 2**20:.0f} MB"


def test_stdin_is_read_the_same_way(monkeypatch, capsys):
    data = GOOD_A + b"\n" + b"[" * 2_000_000 + b"\n" + GOOD_B
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    parser = argparse.ArgumentParser()
    cli_score.add_parser(parser.add_subparsers(dest="command"))
    assert cli_score.run(parser.parse_args(["score", "-", *NOW_ARGS])) == 0
    out, err = capsys.readouterr()
    assert err == "-: line 2: line longer than 1000000 characters\n"
    assert {json.loads(r)["user"] for r in out.splitlines()} == {"ann", "bob", "cat"}


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path):
    """`klout-bot score big.jsonl | head -1` used to end in a BrokenPipeError trace."""
    events = [json.dumps({"kind": "reply", "actor": f"u{i}", "target": f"u{i + 1}",
                          "ts": 1793400000}) for i in range(20_000)]  # fmt: skip
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(events) + "\n", encoding="utf-8")
    code = "import sys; from bot.cli import main; sys.exit(main())"
    with subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-c", code, "score", str(path), *NOW_ARGS],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        assert child.stdout.read(100).startswith(b'{"user": ')
        child.stdout.close()
        err = child.stderr.read().decode()
        assert child.wait(timeout=60) == 0
    assert err == ""
