"""Admin commands for the weekly leaderboard post: preview the next one, or post one now.

    leaderboard-preview     the next scheduled post of this channel (or community), as it
                            would look right now; nothing is posted
    leaderboard-post        post the board now to this community's leaderboard channel,
                            outside the schedule (at most once a minute)

On Discord these are `/kloutadmin leaderboard preview` and `/kloutadmin leaderboard
post-now`; on the console `/leaderboard-preview` and `/leaderboard-post`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, cast

from commands.errors import UserError
from commands.ports import Ports
from commands.router import CommandSpec
from commands.types import Reply, Request

PostStatus = Literal["posted", "done", "failed", "retry", "empty", "waiting", "skipped",
                     "recovered"]


@dataclass(frozen=True, slots=True)
class PostPreview:
    platform: str
    destination: str  # where it goes; "" when this community has no weekly post
    schedule: str  # e.g. "mon 09:00 Europe/Berlin"; "" when not scheduled
    next_due: datetime | None
    next_local: str  # the next slot in the schedule's zone, e.g. "Mon 2026-03-30 09:00 CEST"
    period: str
    parts: tuple[str, ...]  # each part as the platform will show it


@dataclass(frozen=True, slots=True)
class PostResult:
    destination: str
    period: str
    status: PostStatus
    parts: int


class LeaderboardAdmin(Protocol):
    async def preview(self, platform: str, community: str, channel: str | None,
                      now: datetime) -> PostPreview: ...

    async def post_now(self, platform: str, community: str, channel: str | None,
                       now: datetime) -> PostResult | None: ...


class LeaderboardPorts(Ports, Protocol):
    @property
    def leaderboards(self) -> LeaderboardAdmin: ...


def _admin(ports: Ports) -> LeaderboardAdmin:
    if getattr(ports, "leaderboards", None) is None:
        raise RuntimeError("this runtime provides no leaderboard port")
    return cast(LeaderboardPorts, ports).leaderboards


async def leaderboard_preview(request: Request, ports: Ports) -> Reply:
    preview = await _admin(ports).preview(request.platform, request.community,
                                          request.channel, request.now)
    if not preview.parts:
        return Reply("leaderboard_empty", {"bot_name": ports.bot_name}, ephemeral=True)
    return Reply("leaderboard_preview", {"preview": preview}, ephemeral=True)


async def leaderboard_post(request: Request, ports: Ports) -> Reply:
    result = await _admin(ports).post_now(request.platform, request.community,
                                          request.channel, request.now)
    if result is None:
        raise UserError("leaderboard_not_scheduled")
    return Reply("leaderboard_posted", {"result": result}, ephemeral=True,
                 tone="info" if result.status in ("posted", "done", "recovered") else "error")


PREVIEW_SPEC = CommandSpec("leaderboard-preview", leaderboard_preview,
                           "Preview the next weekly leaderboard post.", admin=True)
POST_SPEC = CommandSpec("leaderboard-post", leaderboard_post,
                        "Post the weekly leaderboard now.", admin=True,
                        aliases=("leaderboard-post-now",))
