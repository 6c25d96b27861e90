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


class BackfillRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def progress(self, community_id: int) -> dict[str, ChannelProgress]:
        rows = await self.db.fetchall(
            "SELECT channel, oldest_id, newest_id, complete, messages FROM backfill_progress "
            "WHERE community_id = ?", (community_id,))
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
