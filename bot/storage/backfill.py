"""Where each channel's history backfill stands, so a restart resumes instead of re-reading."""

from __future__ import annotations

from dataclasses import dataclass

from bot.storage.db import Database


@dataclass(frozen=True, slots=True)
class ChannelProgress:
    """Messages oldest_id..newest_id (inclusive) of a channel have been read."""

    channel: str
    oldest_id: int
    newest_id: int
    complete: bool
    messages: int


# The row of this (no) channel says a guild's first backfill has run to its end, even
# one that found no channel to read, so no restart ever starts it over.
_GUILD_DONE = ""


class BackfillRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def progress(self, community_id: int) -> dict[str, ChannelProgress]:
        rows = await self.db.fetchall(
            "SELECT channel, oldest_id, newest_id, complete, messages FROM backfill_progress "
            "WHERE community_id = ? AND channel <> ?", (community_id, _GUILD_DONE))
        return {str(r[0]): ChannelProgress(str(r[0]), int(r[1]), int(r[2]), bool(r[3]),
                                           int(r[4])) for r in rows}

    async def save(self, community_id: int, progress: ChannelProgress, updated_at: int) -> None:
        await self.db.execute(
            "INSERT INTO backfill_progress (community_id, channel, oldest_id, newest_id, "
            "complete, messages, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (community_id, channel) DO UPDATE SET oldest_id = excluded.oldest_id, "
            "newest_id = excluded.newest_id, complete = excluded.complete, "
            "messages = excluded.messages, updated_at = excluded.updated_at",
            (community_id, progress.channel, progress.oldest_id, progress.newest_id,
             int(progress.complete), progress.messages, updated_at))

    async def ever_started(self, community_id: int) -> bool:
        """Whether any backfill of this community has read a page or run to its end."""
        row = await self.db.fetchone(
            "SELECT 1 FROM backfill_progress WHERE community_id = ? LIMIT 1", (community_id,))
        return row is not None

    async def mark_done(self, community_id: int, at: int) -> None:
        await self.save(community_id, ChannelProgress(_GUILD_DONE, 0, 0, True, 0), at)
