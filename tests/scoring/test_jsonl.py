import argparse
import json

import pytest

from bot import cli_score
from scoring import Kind, ScoringConfig
from scoring.jsonl import format_results, id_problem, parse_lines, parse_timestamp, run_score_cli

from .helpers import NOW

GOOD = [
    '{"kind": "reply", "actor": "alice", "target": "bob", "ts": "2026-10-30T12:00:00Z"}',
    '{"kind": "reaction", "actor": "carol", "target": "bob", "ts": 1793400000}',
    "",
    '{"kind": "message", "actor": "spam", "ts": "2026-10-30T12:00:00+02:00"}',
    '{"kind": "Like", "actor": "dave", "target": "bob", "ts": 1793400000.5, "weight": 2,'
    ' "platform": "Twitter", "community": "c1"}',
    '{"kind": "profile", "actor": "bob", "followers": 1200, "listed": 4}',
    '{"kind": "profile", "actor": "kbot", "bot": true}',
]


def test_parse_good_lines():
    res = parse_lines(GOOD)
    assert res.problems == []
    assert [(e.actor, e.target, e.kind) for e in res.events] == [
        ("alice", "bob", Kind.REPLY),
        ("carol", "bob", Kind.REACTION),
        ("spam", None, Kind.MESSAGE),
        ("dave", "bob", Kind.LIKE),
    ]
    assert res.events[0].ts == NOW - 1.5 * 86_400
    assert res.events[2].ts == NOW - 1.5 * 86_400 - 7200
    like = res.events[3]
    assert (like.platform, like.community, like.weight) == ("twitter", "c1", 2.0)
    assert res.events[0].platform == "discord" and res.events[0].weight == 1.0
    assert [(p.user, p.bot, p.followers, p.listed) for p in res.profiles] == [
        ("bob", False, 1200, 4),
        ("kbot", True, None, None),
    ]


BAD = [
    ("not json", "invalid JSON"),
    ("[1, 2]", "expected a JSON object, got an array"),
    ('{"actor": "a", "target": "b", "ts": 1}', 'missing "kind"'),
    ('{"kind": 3, "actor": "a"}', '"kind" must be a string'),
    ('{"kind": "poke", "actor": "a", "target": "b", "ts": 1}', "unknown kind 'poke'; valid kinds"),
    ('{"kind": "reply", "target": "b", "ts": 1}', 'missing "actor"'),
    ('{"kind": "reply", "actor": 42, "target": "b", "ts": 1}', '"actor" must be a string'),
    ('{"kind": "reply", "actor": "a", "ts": 1}', 'missing "target"'),
    ('{"kind": "message", "actor": "a", "target": "b", "ts": 1}', "has no target"),
    ('{"kind": "reply", "actor": "a", "target": "b"}', 'missing "ts"'),
    (
        '{"kind": "reply", "actor": "a", "target": "b", "ts": "2026-10-30T12:00:00"}',
        "no UTC offset",
    ),
    ('{"kind": "reply", "actor": "a", "target": "b", "ts": "yesterday"}', "not an ISO 8601"),
    ('{"kind": "reply", "actor": "a", "target": "b", "ts": 1793400000000}', "milliseconds"),
    ('{"kind": "reply", "actor": "a", "target": "b", "ts": -5}', "not a valid epoch"),
    ('{"kind": "reply", "actor": "a", "target": "b", "ts": true}', '"ts" must be'),
    ('{"kind": "reply", "actor": "a", "target": "b", "ts": 1, "weight": NaN}', '"weight" must be'),
    ('{"kind": "reply", "actor": "a", "target": "b", "ts": 1, "weight": -1}', '"weight" must be'),
    ('{"kind": "reply", "actor": "a", "target": "b", "ts": 1, "weight": "2"}', '"weight" must be'),
    ('{"kind": "reply", "actor": "a", "target": "b", "ts": 1, "weight": 1e9}', '"weight" must be'),
    ('{"kind": "reply", "actor": "", "target": "b", "ts": 1}', '"actor" must not be empty'),
    ('{"kind": "reply", "actor": " a", "target": "b", "ts": 1}', "whitespace"),
    ('{"kind": "reply", "actor": "a\\u202eb", "target": "b", "ts": 1}', "U+202E"),
    ('{"kind": "reply", "actor": "a\\u0000", "target": "b", "ts": 1}', "U+0000"),
    ('{"kind": "reply", "actor": "\\ud800", "target": "b", "ts": 1}', "U+D800"),
    (
        '{"kind": "reply", "actor": "a", "target": "b", "ts": 1, "platform": "Disc ord!"}',
        "platform",
    ),
    ('{"kind": "reply", "actor": "a", "target": "b", "ts": 1, "community": 7}', '"community"'),
    ('{"kind": "profile", "actor": "a", "bot": "yes"}', '"bot" must be true or false'),
    ('{"kind": "profile", "actor": "a", "followers": -3}', '"followers" must be a whole number'),
    ('{"kind": "profile", "actor": "a", "listed": 2.5}', '"listed" must be a whole number'),
    ('{"kind": "profile", "actor": "a", "created": "2019-04-02"}', '"created" \'2019-04-02\' has'),
    ('{"kind": "profile", "actor": "a", "created": "last year"}', '"created" \'last year\' is not'),
    ('{"kind": "profile", "actor": "a", "created": 1554199200000}', '"created" 1554199200000 is'),
    ('{"kind": "profile", "actor": "a", "created": -1}', '"created" -1 is not a valid'),
    ('{"kind": "profile", "actor": "a", "created": [2019]}', '"created" must be an ISO 8601'),
    ('{"kind": "profile", "actor": "a", "created": true}', '"created" must be an ISO 8601'),
    ("[" * 100_000 + "]" * 100_000, "JSON"),
]


@pytest.mark.parametrize(("line", "needle"), BAD)
def test_malformed_lines_are_reported_with_line_numbers(line, needle):
    res = parse_lines([GOOD[0], "   ", line, GOOD[1]])
    assert len(res.events) == 2
    assert len(res.problems) == 1
    number, message = res.problems[0]
    assert number == 3
    assert needle in message, message


def test_huge_ids_and_lines_are_refused():
    long_id = "x" * 300
    line = json.dumps({"kind": "reply", "actor": long_id, "target": "b", "ts": 1})
    assert "longer than 256" in parse_lines([line]).problems[0][1]
    assert "line longer" in parse_lines(["x" * 1_000_001]).problems[0][1]


def test_bytes_lines_invalid_utf8_and_bom():
    res = parse_lines([b"\xef\xbb\xbf" + GOOD[0].encode(), b"\xff\xfe{", GOOD[1].encode()])
    assert len(res.events) == 2
    assert res.problems == [(2, "not valid UTF-8")]


def test_unicode_ids_that_are_fine():
    for ok in ("ünïcødé", "用户", "😀", "123456789012345678"):
        assert id_problem(ok) is None


def test_profile_creation_time_as_iso_or_epoch_or_absent():
    res = parse_lines([
        '{"kind": "profile", "actor": "a", "created": "2019-04-02T10:00:00Z"}',
        '{"kind": "profile", "actor": "b", "created": 1554199200}',
        '{"kind": "profile", "actor": "c", "created": null}',
        '{"kind": "profile", "actor": "d"}',
    ])  # fmt: skip
    assert res.problems == []
    assert [p.created for p in res.profiles] == [1554199200.0, 1554199200.0, None, None]


def test_cli_creation_times_lift_members_of_a_new_server():
    """Everyone first seen today: without creation times their replies carry the trust
    floor; with old accounts the same lines score higher, and a bad date is reported
    with its line number while the rest is scored."""
    names = ["ann", "ben", "cat", "dan"]
    events = [
        json.dumps({"kind": "reply", "actor": a, "target": t, "ts": "2026-10-31T12:00:00Z"})
        for a in names for t in names if a != t
    ]  # fmt: skip
    profiles = [json.dumps({"kind": "profile", "actor": n, "created": "2018-01-01T00:00:00Z"})
                for n in names]  # fmt: skip
    bad = '{"kind": "profile", "actor": "ann", "created": "soon"}'
    before = {json.loads(x)["user"]: json.loads(x)["score"] for x in run_score_cli(events, NOW)[0]}
    out = run_score_cli([*events, *profiles, bad], NOW)
    after = {json.loads(x)["user"]: json.loads(x)["score"] for x in out.output}
    assert out.exit_code == 0
    assert out.problems == [f"line {len(events) + len(profiles) + 1}: \"created\" 'soon' is "
                            "not an ISO 8601 timestamp"]  # fmt: skip
    assert all(after[n] > before[n] for n in names)


def test_parse_timestamp_forms():
    assert parse_timestamp("2026-11-01T00:00:00Z") == NOW
    assert parse_timestamp("2026-11-01T01:00:00+01:00") == NOW
    assert parse_timestamp(NOW) == NOW
    assert parse_timestamp(int(NOW)) == NOW
    with pytest.raises(ValueError):
        parse_timestamp("2026-11-01 00:00:00")


def test_format_results_is_one_json_object_per_line():
    out = run_score_cli(GOOD, NOW)
    assert out.exit_code == 0 and out.problems == []
    rows = [json.loads(line) for line in out.output]
    assert rows[0]["user"] == "bob"
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    for r in rows:
        assert {"user", "score", "tier", "components", "raw", "model_version"} <= set(r)
        assert isinstance(r["score"], int) and 1 <= r["score"] <= 100
        assert isinstance(r["components"], dict)
    assert "kbot" not in {r["user"] for r in rows}
    assert list(format_results([])) == []


def test_run_score_cli_non_strict_skips_bad_lines():
    out = run_score_cli([*GOOD, "oops"], NOW)
    assert out.exit_code == 0
    assert out.problems == ["line 8: invalid JSON: Expecting value at column 1"]
    assert out.output


def test_run_score_cli_strict_fails_without_output():
    out = run_score_cli([*GOOD, "oops"], NOW, strict=True)
    assert (out.output, out.exit_code) == ([], 1)
    assert len(out.problems) == 1


def test_run_score_cli_nothing_usable_fails():
    out = run_score_cli(["oops", "{}"], NOW)
    assert out.exit_code == 1 and len(out.problems) == 2
    assert run_score_cli([], NOW) == ([], [], 0)


def test_run_score_cli_community_and_config():
    out = run_score_cli(GOOD, NOW, community="c1")
    users = {json.loads(line)["user"] for line in out.output}
    assert "alice" not in users and "dave" in users
    cfg = ScoringConfig(window_days=1.0)
    rows = {json.loads(x)["user"]: x for x in run_score_cli(GOOD, NOW, config=cfg).output}
    assert json.loads(rows["bob"])["components"]["propagated"] == 0.0


# --- bot/cli_score.py: the I/O wrapper ---------------------------------------------


def _cli(tmp_path, *argv):
    parser = argparse.ArgumentParser()
    cli_score.add_parser(parser.add_subparsers(dest="command"))
    return cli_score.run(parser.parse_args(["score", *argv]))


def test_cli_score_reads_file_and_prints_jsonl(tmp_path, capsys):
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join([*GOOD, "oops"]) + "\n", encoding="utf-8")
    code = _cli(tmp_path, str(events), "--now", "2026-11-01T00:00:00Z")
    out, err = capsys.readouterr()
    assert code == 0
    assert json.loads(out.splitlines()[0])["user"] == "bob"
    assert f"{events}: line 8: invalid JSON" in err
    assert _cli(tmp_path, str(events), "--now", "2026-11-01T00:00:00Z", "--strict") == 1


def test_cli_score_config_file(tmp_path, capsys):
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(GOOD), encoding="utf-8")
    good = tmp_path / "good.toml"
    good.write_text("[scoring]\nhalf_life_days = 7\nrescore_interval_minutes = 5\n")
    assert _cli(tmp_path, str(events), "--now", "2026-11-01T00:00:00Z", "--config", str(good)) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("[scoring]\nhalf_life = 7\n")
    capsys.readouterr()
    assert _cli(tmp_path, str(events), "--config", str(bad)) == 2
    err = capsys.readouterr().err
    assert "scoring.half_life: unknown key" in err and str(bad) in err


def test_cli_score_usage_errors(tmp_path, capsys):
    assert _cli(tmp_path, str(tmp_path / "missing.jsonl")) == 2
    assert "cannot read" in capsys.readouterr().err
    events = tmp_path / "e.jsonl"
    events.write_text(GOOD[0])
    assert _cli(tmp_path, str(events), "--now", "2026-11-01T00:00:00") == 2
    assert "needs a UTC offset" in capsys.readouterr().err
    assert _cli(tmp_path, str(events), "--config", str(tmp_path / "nope.toml")) == 2


def test_cli_score_uses_the_app_config_model(tmp_path, capsys):
    from types import SimpleNamespace

    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(GOOD), encoding="utf-8")
    parser = argparse.ArgumentParser()
    cli_score.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["score", str(events), "--now", "2026-11-01T00:00:00Z"])
    narrow = SimpleNamespace(scoring=SimpleNamespace(model=ScoringConfig(window_days=1.0)))
    assert cli_score.run(args, narrow) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert all(r["components"]["propagated"] == 0.0 for r in rows)
    assert cli_score.NAME == "score"
