"""The data of one weekly post: the top N, the biggest climbers and the newcomers.

The top N comes from InfluenceService.board, the same query /leaderboard runs, so a
post and the command shown at the same moment agree line for line. The board is
frozen into JSON when a period is claimed: a retry after a crash posts the parts it
would have posted the first time, not a board rescored in between.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from bot.services.influence import InfluenceService, week_ago_day
from bot.storage import Storage
from commands.ports import BoardLine

MOVERS = 3


@dataclass(frozen=True, slots=True)
class Mover:
    name: str
    score: int
    tier: str
    change: int | None


@dataclass(frozen=True, slots=True)
class WeeklyBoard:
    community: str  # display name of the community, "" when unknown
    members: int
    top: int
    as_of: str  # ISO datetime (UTC) the board was read at
    lines: tuple[BoardLine, ...]
    climbers: tuple[Mover, ...]
    newcomers: tuple[Mover, ...]

    @property
    def empty(self) -> bool:
        return not self.lines

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> WeeklyBoard:
        data = json.loads(text)
        return cls(
            community=str(data["community"]), members=int(data["members"]),
            top=int(data["top"]), as_of=str(data["as_of"]),
            lines=tuple(BoardLine(**line) for line in data["lines"]),
            climbers=tuple(Mover(**m) for m in data["climbers"]),
            newcomers=tuple(Mover(**m) for m in data["newcomers"]),
        )


async def build_board(store: Storage, influence: InfluenceService, platform: str,
                      community: str, now: datetime, top: int) -> WeeklyBoard:
    page = await influence.board(platform, community, 1, now, "week", size=top)
    comm = await store.communities.get(platform, community)
    climbers: tuple[Mover, ...] = ()
    newcomers: tuple[Mover, ...] = ()
    name = ""
    if comm is not None and page.members:
        name = comm.name or ""
        day = week_ago_day(now)
        tier = influence.config.tier_for
        climbers = tuple(Mover(e.name, e.score, tier(e.score), e.change)
                         for e in await store.leaderboards.climbers(comm.id, day, MOVERS))
        newcomers = tuple(Mover(e.name, e.score, tier(e.score), None)
                          for e in await store.leaderboards.newcomers(comm.id, day, MOVERS))
    return WeeklyBoard(name, page.members, top, now.isoformat(), page.lines, climbers,
                       newcomers)
