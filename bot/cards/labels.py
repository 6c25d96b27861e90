"""What goes on an image, worded by templates/image/ and laid out by bot/cards/draw.py.

The image templates write one `key=value` a line (the value runs to the end of its
line); this turns a score card or a leaderboard page and those words into the plain,
picklable specs the render workers draw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.cards.draw import BoardRow, BoardSpec, CardSpec
from bot.render import Renderer
from commands.ports import BoardLine, BoardPage, ScoreCard

PLATFORM = "image"


def _fields(renderer: Renderer, name: str, context: dict[str, Any]) -> dict[str, str]:
    text = renderer.render_name(name, PLATFORM, context).text
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def _sign(value: int | None) -> int:
    return 0 if not value else (1 if value > 0 else -1)


def card_spec(renderer: Renderer, context: Mapping[str, Any],
              avatar: bytes | None) -> CardSpec:
    """The image of a /klout reply's card (its Reply context)."""
    card: ScoreCard = context["card"]
    words = _fields(renderer, "klout", dict(context))
    contributors = tuple(
        _fields(renderer, "klout_contributor", {"c": c})["contributor"]
        for c in card.top_contributors[:3])
    return CardSpec(
        name=words["name"], score=words["score"], change=words["change"],
        change_sign=_sign(card.change_week), tier_line=words["tier"], why=words["why"],
        trend_label=words["trend"], trend=tuple(card.trend[-8:]),
        contributors_label=words["contributors"], contributors=contributors,
        footer=words["footer"], avatar=avatar)


def board_spec(renderer: Renderer, board: BoardPage, community: str) -> BoardSpec:
    """The image of a leaderboard page."""
    words = _fields(renderer, "leaderboard", {"board": board, "community": community})
    return BoardSpec(words["title"], _rows(renderer, board.lines, board.period),
                     words["footer"])


def weekly_spec(renderer: Renderer, context: Mapping[str, Any]) -> BoardSpec:
    """The image of one part of the weekly post (bot/leaderboards/post.py's context)."""
    words = _fields(renderer, "leaderboard_post", {"board": context["board"],
                                                   "first": context["first"]})
    return BoardSpec(words["title"], _rows(renderer, context["lines"], "week"),
                     words["footer"])


def _rows(renderer: Renderer, lines: Sequence[BoardLine], period: str
          ) -> tuple[BoardRow, ...]:
    rows = []
    for line in lines:
        row = _fields(renderer, "leaderboard_row", {"line": line, "period": period})
        rows.append(BoardRow(row["rank"], row["name"], row["score"], row["tier"],
                             row["change"], _sign(line.change)))
    return tuple(rows)
