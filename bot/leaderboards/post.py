"""Turn a WeeklyBoard into the parts one destination posts, each within its platform's limit.

Parts are filled greedily with board lines, then climbers, then newcomers, measuring
each candidate with the real template for the platform. Every part carries a marker,
"[<period> <part>/<parts>]", which is how crash recovery recognises the bot's own
posts later. Measuring reserves room for "99/99", so the final numbers never make a
part longer than it was measured.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.adapters.x_text import MAX_WEIGHTED_LENGTH, weighted_length
from bot.leaderboards.board import Mover, WeeklyBoard
from bot.render import Rendered, Renderer
from commands.ports import BoardLine
from commands.types import Reply

log = logging.getLogger(__name__)
TEMPLATE = "leaderboard_post"
DISCORD_MAX = 2000
MAX_PARTS = 99
_MARKER = re.compile(r"\[((?:now-)?\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2})?) (\d{1,2})/(\d{1,2})\]")


@dataclass(frozen=True, slots=True)
class Limit:
    size: int
    measure: Callable[[str], int]


LIMITS: dict[str, Limit] = {
    "discord": Limit(DISCORD_MAX, len),
    "twitter": Limit(MAX_WEIGHTED_LENGTH, weighted_length),
    # The console has no limit; Discord's keeps a long board readable in a terminal.
    "console": Limit(DISCORD_MAX, len),
}


@dataclass(frozen=True, slots=True)
class Part:
    reply: Reply
    rendered: Rendered
    number: int
    of: int


def marker(period: str, part: int, parts: int) -> str:
    return f"{period} {part}/{parts}"


def find_marker(text: str) -> tuple[str, int, int] | None:
    """(period, part, parts) of the marker in a post's text, if it has one."""
    match = _MARKER.search(text)
    if match is None:
        return None
    return match.group(1), int(match.group(2)), int(match.group(3))


Item = tuple[str, BoardLine | Mover]


def render_parts(board: WeeklyBoard, *, period: str, platform: str, renderer: Renderer,
                 catch_up: bool = False) -> list[Part]:
    limit = LIMITS.get(platform, LIMITS["console"])
    items: list[Item] = [("line", line) for line in board.lines]
    items += [("climber", m) for m in board.climbers]
    items += [("newcomer", m) for m in board.newcomers]

    def render(chunk: list[Item], number: int, of: int) -> tuple[Reply, Rendered]:
        context: dict[str, Any] = {
            "board": board,
            "lines": [x for k, x in chunk if k == "line"],
            "climbers": [x for k, x in chunk if k == "climber"],
            "newcomers": [x for k, x in chunk if k == "newcomer"],
            "part": number, "parts": of, "first": number == 1, "catch_up": catch_up,
            "marker": marker(period, number, of), "period": period,
        }
        reply = Reply(TEMPLATE, context)
        return reply, renderer.render(reply, platform)

    def fits(chunk: list[Item], number: int) -> bool:
        _, rendered = render(chunk, number, MAX_PARTS)
        return limit.measure(rendered.text) <= limit.size

    chunks: list[list[Item]] = []
    current: list[Item] = []
    for item in items:
        if fits([*current, item], len(chunks) + 1):
            current.append(item)
            continue
        if current:
            chunks.append(current)
            current = []
        if fits([item], len(chunks) + 1):
            current = [item]
        else:  # cannot happen with names capped at 64 characters; never post over the limit
            log.warning("leaderboard item %s does not fit a %s post; left out", item[0],
                        platform)
    if current:
        chunks.append(current)
    chunks = chunks[:MAX_PARTS]
    parts = []
    for number, chunk in enumerate(chunks, start=1):
        reply, rendered = render(chunk, number, len(chunks))
        parts.append(Part(reply, rendered, number, len(chunks)))
    return parts
