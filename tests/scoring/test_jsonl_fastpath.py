"""`klout-bot score` reads in column batches and formats from arrays; these hold it to
the slow reference (parse_lines -> score_events -> format_results) byte for byte,
on thousands of mixed lines, valid and subtly not, so every batch path is taken."""

import json
import random
from types import SimpleNamespace

import numpy as np
import pytest

from scoring import ScoringConfig
from scoring.jsonl import (
    _rows_text,
    format_results,
    parse_lines,
    read_table,
    run_score_cli,
)
from scoring.records import UserScore

from .helpers import NOW
from .helpers import jsonl_reference as _reference

GOOD_FIELDS = [
    {},
    {"platform": "twitter"},
    {"platform": "Twitter"},
    {"community": "c1"},
    {"community": "c2", "weight": 2},
    {"weight": 0.5},
    {"weight": 0},
    {"weight": 1000},
]
# Each breaks one rule, so the line is refused with its own message.
BAD_FIELDS = [
    {"weight": True},
    {"weight": 1000.5},
    {"weight": "2"},
    {"ts": True},
    {"ts": -1},
    {"ts": 10**40},
    {"ts": "0001-01-01T00:00:00Z"},
    {"ts": "9999-12-31T00:00:00Z"},
    {"ts": "2026-10-30T12:00:00"},
    {"platform": None},
    {"platform": "Disc ord"},
    {"platform": ["x"]},
    {"community": 7},
    {"community": ""},
    {"community": ["c"]},
    {"actor": 5},
    {"actor": None},
    {"actor": " lead"},
    {"actor": "a\u200bb"},
    {"target": None},
    {"target": {"id": 1}},
    {"kind": "poke"},
    {"kind": None},
    {"kind": ["reply"]},
]
USERS = ["ann", "ben", "cat", "dan", "eve", "ünï", "用户", "a\u00a0b", "x" * 256]


def _line(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.03:
        return rng.choice(["", "   ", "oops", "[1]", '{"kind": "reply"', "null", "{}"])
    if roll < 0.06:
        actor = rng.choice(USERS)
        return json.dumps({"kind": "profile", "actor": actor,
                           "followers": rng.randint(0, 10**6), "bot": actor == "dan"})
    kind = rng.choice(["reply", "mention", "retweet", "like", "Reply", "message"])
    event = {"kind": kind, "actor": rng.choice(USERS),
             "ts": int(NOW) - rng.randint(0, 90 * 86_400)}
    if kind != "message":
        event["target"] = rng.choice(USERS)
    if rng.random() < 0.2:
        event["ts"] = f"2026-10-2{rng.randint(0, 9)}T12:00:00Z"
    event.update(rng.choice(GOOD_FIELDS))
    if roll > 0.97:
        event.update(rng.choice(BAD_FIELDS))
    return json.dumps(event, ensure_ascii=rng.random() < 0.5)


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("community", [None, "c1"])
def test_batches_match_the_line_by_line_reference(seed, community):
    rng = random.Random(seed)
    lines = [_line(rng) for _ in range(8_000)]
    expected_rows, expected_problems = _reference(lines, community)
    assert expected_problems and expected_rows  # the sample really is mixed
    for given in (lines, [(x + "\n").encode() for x in lines], [x.encode() for x in lines]):
        out = run_score_cli(given, NOW, community=community)
        assert out.problems == expected_problems
        assert out.output == expected_rows


def test_clean_file_goes_in_whole_batches_and_matches():
    rng = random.Random(9)
    lines = []
    while len(lines) < 10_000:
        line = _line(rng)
        if line.startswith("{") and '"profile"' not in line and "message" not in line:
            try:
                if not parse_lines([line]).problems:
                    lines.append(line)
            except ValueError:  # pragma: no cover - parse_lines never raises
                pass
    expected_rows, _ = _reference(lines)
    table, problems = read_table([x.encode() for x in lines])
    assert problems == [] and table.event_count() == len(lines)
    assert run_score_cli([x.encode() for x in lines], NOW).output == expected_rows


def test_a_refused_batch_leaves_no_ids_behind():
    """A batch refused after numbering its ids must forget them: a user only seen
    on a bad line would otherwise be scored."""
    good = [json.dumps({"kind": "reply", "actor": f"u{i}", "target": "hub", "ts": int(NOW)})
            for i in range(5000)]
    # Ids are checked after they are numbered: a bad one makes the batch give back
    # every number it handed out.
    bad = json.dumps({"kind": "reply", "actor": "ghost ", "target": "hub", "ts": int(NOW)})
    out = run_score_cli([*good[:3000], bad, *good[3000:]], NOW)
    assert out.problems == ['line 3001: "actor" has leading or trailing whitespace']
    assert "ghost " not in {json.loads(row)["user"] for row in out.output}
    assert len(out.output) == 5001


def test_rows_sharing_their_figures_are_formatted_like_each_row():
    """Rows whose figures equal their neighbours' share one formatted text; 0.0 and
    -0.0 are equal numbers but two texts, and NaN equals nothing but its own bits."""
    figures = [3.0, 3.0, 0.0, -0.0, -0.0, 0.0, np.nan, np.nan, np.inf, 1 / 3, 1 / 3,
               2.5e-7, 1e300, 5e-324, 0.1234565, 0.1234565]
    n = len(figures)
    raw = np.array(figures)
    result = SimpleNamespace(
        raw=raw, propagated=raw.copy(), prior=np.where(np.arange(n) % 5 == 0, 1.5, 0.0),
        score=np.array([50] * 8 + [40] * 8), distinct_actors=np.array([2] * 10 + [3] * 6),
        by_platform=np.stack([raw, np.where(np.arange(n) % 3 == 0, raw, 0.0)], axis=1),
        model_version="m1",
    )
    users = [f"u{i:02d}" for i in range(n)]
    is_bot = np.zeros(n, dtype=bool)
    is_bot[4] = True
    config = ScoringConfig()
    rows = []
    for i in range(n):
        if is_bot[i]:
            continue
        components = {"propagated": raw[i], "audience_points": result.prior[i]}
        for code, name in enumerate(["discord", "twitter"]):
            if result.by_platform[i, code] > 0:
                components[f"network:{name}"] = result.by_platform[i, code]
        score = int(result.score[i])
        rows.append(UserScore(user=users[i], score=score, tier=config.tier_for(score),
                              raw=float(raw[i]), components=components, model_version="m1",
                              distinct_actors=int(result.distinct_actors[i])))
    # score_events' order; users are numbered in sorted order, so index breaks ties.
    order = sorted(range(len(rows)), key=lambda k: (-rows[k].score, -rows[k].raw, k))
    expected = "".join(x + "\n" for x in format_results([rows[k] for k in order]))
    assert _rows_text(users, ["discord", "twitter"], result, is_bot, config) == expected
    assert _rows_text(users, ["discord", "twitter"], result, np.ones(n, bool), config) == ""
