"""/leaderboard [page] [week|alltime]."""

from __future__ import annotations

from typing import Literal

from commands.errors import UserError
from commands.ports import Ports
from commands.router import CommandSpec
from commands.types import Pager, Reply, Request

_PERIODS: dict[str, Literal["week", "alltime"]] = {
    "week": "week", "this-week": "week", "weekly": "week",
    "alltime": "alltime", "all-time": "alltime", "all": "alltime",
}


def parse_args(args: tuple[str, ...]) -> tuple[int, Literal["week", "alltime"]]:
    page = 1
    period: Literal["week", "alltime"] = "week"
    words = list(args)
    # "this week" and "all time" arrive as two words from text platforms.
    joined = " ".join(w.lower() for w in words)
    if "all time" in joined or "this week" in joined:
        period = "alltime" if "all time" in joined else "week"
        words = [w for w in words if w.lower() not in ("all", "time", "this", "week")]
    for word in words:
        low = word.lower()
        if low in _PERIODS:
            period = _PERIODS[low]
        elif low.isdigit() and len(low) < 7:
            page = int(low)
        else:
            raise UserError("bad_leaderboard_arg", arg=word[:32])
    if page < 1:
        raise UserError("bad_leaderboard_arg", arg=str(page))
    return page, period


async def leaderboard(request: Request, ports: Ports) -> Reply:
    page, period = parse_args(request.args)
    board = await ports.influence.board(request.platform, request.community, page,
                                        request.now, period)
    if board.members == 0:
        return Reply("leaderboard_empty", {"bot_name": ports.bot_name})
    if page > board.pages:
        raise UserError("no_such_page", page=page, pages=board.pages)
    pager = Pager("leaderboard", board.page, board.pages, (period,))
    return Reply("leaderboard", {"board": board, "community": request.community_name or ""},
                 pager=pager)


SPEC = CommandSpec("leaderboard", leaderboard, "The top members of this community.",
                   aliases=("top", "lb"))
