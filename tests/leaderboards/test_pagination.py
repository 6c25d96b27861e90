"""Long boards are split into parts that each fit the platform: 2000 characters on
Discord, 280 weighted characters on X (twitter-text v3), with every line shown once."""

from __future__ import annotations

import pytest

from bot.adapters.x_text import weighted_length
from bot.leaderboards.board import Mover, WeeklyBoard
from bot.leaderboards.post import find_marker, render_parts
from bot.render import Renderer, escape_name
from commands.ports import BoardLine

NASTY = {
    "markdown": "*_`~|>#[]()-\\" * 5,  # every character doubles when escaped for Discord
    "cjk": "影響力" * 22,  # weight 2 each on X
    "emoji": "👩‍👩‍👧‍👦🎉" * 13,
    "mentions": "@everyone @here <@123456789> " * 3,
    "latin": "x" * 64,
}


def board(name: str, top: int = 50) -> WeeklyBoard:
    lines = tuple(BoardLine(i, f"{i}{name}", 100 - i, "influencer",
                            None if i % 4 == 0 else (i % 9) - 4) for i in range(1, top + 1))
    movers = tuple(Mover(f"m{i}{name}", 50 + i, "voice", 10 - i) for i in range(3))
    newcomers = tuple(Mover(f"n{i}{name}", 40 + i, "voice", None) for i in range(3))
    return WeeklyBoard("Community " + name, 5000, top, "2026-03-16T08:00:00+00:00", lines,
                       movers, newcomers)


@pytest.mark.parametrize("kind", sorted(NASTY))
@pytest.mark.parametrize(("platform", "limit", "measure"), [
    ("discord", 2000, len), ("twitter", 280, weighted_length), ("console", 2000, len)])
def test_every_part_fits_and_every_line_is_shown_once(kind: str, platform: str, limit: int,
                                                      measure) -> None:  # type: ignore[no-untyped-def]
    name = NASTY[kind]
    b = board(name)
    parts = render_parts(b, period="2026-03-16", platform=platform, renderer=Renderer())
    assert len(parts) > 1
    texts = [p.rendered.text for p in parts]
    assert all(measure(t) <= limit for t in texts), [measure(t) for t in texts]
    assert [find_marker(t) for t in texts] == [
        ("2026-03-16", n, len(parts)) for n in range(1, len(parts) + 1)]
    # Every line, climber and newcomer in exactly one part, in order ...
    for key, expected in (("lines", b.lines), ("climbers", b.climbers),
                          ("newcomers", b.newcomers)):
        assert [x for p in parts for x in p.reply.context[key]] == list(expected)
    # ... and in that part's text.
    for part in parts:
        for x in (*part.reply.context["lines"], *part.reply.context["climbers"],
                  *part.reply.context["newcomers"]):
            assert escape_name(x.name, platform) in part.rendered.text
    joined = "\n".join(texts)
    if platform == "twitter":
        assert "@" not in joined
    if platform == "discord":
        assert "@everyone" not in joined and "<@1" not in joined


def test_a_usual_board_is_one_discord_message_and_a_short_x_thread() -> None:
    b = board("ana_birch", top=10)
    renderer = Renderer()
    assert len(render_parts(b, period="2026-03-16", platform="discord", renderer=renderer)) == 1
    x_parts = render_parts(b, period="2026-03-16", platform="twitter", renderer=renderer)
    assert 1 < len(x_parts) <= 4
    assert "Weekly leaderboard" in x_parts[0].rendered.text
    assert all("Weekly leaderboard" not in p.rendered.text for p in x_parts[1:])


def test_parts_are_numbered_and_only_the_first_says_late() -> None:
    parts = render_parts(board("late"), period="2026-03-16", platform="discord",
                         renderer=Renderer(), catch_up=True)
    assert "Posted late" in parts[0].rendered.text
    assert all("Posted late" not in p.rendered.text for p in parts[1:])
    assert [(p.number, p.of) for p in parts] == [(n, len(parts))
                                                 for n in range(1, len(parts) + 1)]
