"""The admin side of the weekly post (commands.leaderboard_admin.LeaderboardAdmin)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from bot.leaderboards.poster import LeaderboardPoster, schedule_of
from bot.leaderboards.schedule import next_slot
from bot.storage.leaderboards import Destination
from commands.leaderboard_admin import PostPreview, PostResult, PostStatus

DEFAULT_WEEKDAY, DEFAULT_TIME, DEFAULT_ZONE, DEFAULT_TOP = 0, "09:00", "UTC", 10


class LeaderboardDesk:
    def __init__(self, poster: LeaderboardPoster) -> None:
        self.poster = poster

    async def destination_for(self, platform: str, community: str, channel: str | None,
                              now: datetime) -> Destination | None:
        """This channel's weekly post, else the community's first one.

        The schedules admins set (/kloutadmin schedule) are mirrored first, as `run`'s
        scheduler does every minute: the console outside `run` has no scheduler, and on
        Discord an admin who has just set a schedule previews it before the next sweep."""
        await self.poster.sync_settings(now)
        found = await self.poster.store.leaderboards.for_community(platform, community)
        for dest in found:
            if dest.destination == channel:
                return dest
        return found[0] if found else None

    async def preview(self, platform: str, community: str, channel: str | None,
                      now: datetime) -> PostPreview:
        dest = await self.destination_for(platform, community, channel, now)
        scheduled = dest is not None
        if dest is None:  # what the default schedule would post here
            dest = Destination(0, platform, community, channel or "", DEFAULT_WEEKDAY,
                               DEFAULT_TIME, DEFAULT_ZONE, DEFAULT_TOP, False, "", 0, 0)
        schedule = schedule_of(dest)
        slot = next_slot(schedule, now)
        parts = await self.poster.preview(dest, slot.period, now)
        return PostPreview(dest.platform, dest.destination if scheduled else "",
                           schedule.describe() if scheduled else "",
                           slot.due if scheduled else None,
                           slot.due.astimezone(schedule.zone).strftime("%a %Y-%m-%d %H:%M %Z"),
                           slot.period,
                           tuple(p.rendered.text for p in parts))

    async def post_now(self, platform: str, community: str, channel: str | None,
                       now: datetime) -> PostResult | None:
        dest = await self.destination_for(platform, community, channel, now)
        if dest is None:
            return None
        outcome = await self.poster.post_now(dest, now)
        # A manual period is due at once, so every action but "not_due" can come back.
        return PostResult(dest.destination, outcome.period, cast(PostStatus, outcome.action),
                          outcome.parts)
