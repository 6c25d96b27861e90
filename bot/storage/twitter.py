"""The X adapter's tables: claimed mentions, poll state, spend, cached profiles."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.storage.db import Database

OPEN_STATUSES = ("claimed", "posting")
FINAL_STATUSES = ("replied", "failed", "skipped")


@dataclass(frozen=True, slots=True)
class MentionRow:
    """A mention the bot has claimed; enough to answer it without its text."""

    post_id: str
    author_id: str
    author_handle: str
    conversation_id: str
    is_reply: bool
    command: str
    targets: tuple[tuple[str, str], ...]
    unresolved: tuple[str, ...]
    error_key: str | None
    error_context: dict[str, object]
    created_at: int
    status: str = "claimed"
    attempts: int = 0
    reply_id: str | None = None
    reply_text: str | None = None
    detail: str | None = None
    # The command's arguments; kept only until the mention is answered.
    args: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProfileRow:
    user_id: str
    username: str
    status: str
    followers: int | None
    listed: int | None
    fetched_at: int
    posts_sampled: int | None = None
    avg_likes: float = 0.0
    avg_retweets: float = 0.0
    avg_replies: float = 0.0
    avg_quotes: float = 0.0
    posts_at: int | None = None
    latest_post_id: str | None = None


_MENTION_COLUMNS = (
    "post_id, author_id, author_handle, conversation_id, is_reply, command, targets, "
    "unresolved, error_key, error_context, created_at, status, attempts, reply_id, "
    "reply_text, detail, args"
)
_PROFILE_COLUMNS = (
    "user_id, username, status, followers, listed, fetched_at, posts_sampled, avg_likes, "
    "avg_retweets, avg_replies, avg_quotes, posts_at, latest_post_id"
)


def _mention(row: sqlite3.Row) -> MentionRow:
    return MentionRow(
        post_id=row["post_id"], author_id=row["author_id"], author_handle=row["author_handle"],
        conversation_id=row["conversation_id"], is_reply=bool(row["is_reply"]),
        command=row["command"],
        targets=tuple((str(i), str(u)) for i, u in json.loads(row["targets"])),
        unresolved=tuple(str(u) for u in json.loads(row["unresolved"])),
        error_key=row["error_key"],
        error_context=json.loads(row["error_context"]) if row["error_context"] else {},
        created_at=int(row["created_at"]), status=row["status"], attempts=int(row["attempts"]),
        reply_id=row["reply_id"], reply_text=row["reply_text"], detail=row["detail"],
        args=tuple(str(a) for a in json.loads(row["args"] or "[]")),
    )


def _profile(row: sqlite3.Row) -> ProfileRow:
    return ProfileRow(
        user_id=row["user_id"], username=row["username"], status=row["status"],
        followers=row["followers"], listed=row["listed"], fetched_at=int(row["fetched_at"]),
        posts_sampled=row["posts_sampled"], avg_likes=row["avg_likes"] or 0.0,
        avg_retweets=row["avg_retweets"] or 0.0, avg_replies=row["avg_replies"] or 0.0,
        avg_quotes=row["avg_quotes"] or 0.0, posts_at=row["posts_at"],
        latest_post_id=row["latest_post_id"],
    )


class TwitterRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- state ----------------------------------------------------------------
    async def state(self) -> dict[str, str]:
        rows = await self.db.fetchall("SELECT key, value FROM x_state")
        return {str(r[0]): str(r[1]) for r in rows}

    async def set_state(self, **values: str) -> None:
        await self.db.executemany(
            "INSERT INTO x_state (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value", list(values.items()))

    # -- mentions -------------------------------------------------------------
    async def claim(self, mention: MentionRow, claimed_at: int) -> bool:
        """Insert the mention unless known; True when this call claimed it."""
        async with self.db.write() as conn:
            cur = await conn.execute(
                "INSERT OR IGNORE INTO x_mentions (post_id, author_id, author_handle, "
                "conversation_id, is_reply, command, targets, unresolved, error_key, "
                "error_context, created_at, claimed_at, args) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (mention.post_id, mention.author_id, mention.author_handle,
                 mention.conversation_id, int(mention.is_reply), mention.command,
                 json.dumps([list(t) for t in mention.targets]),
                 json.dumps(list(mention.unresolved)), mention.error_key,
                 json.dumps(mention.error_context) if mention.error_key else None,
                 mention.created_at, claimed_at, json.dumps(list(mention.args))))
            return cur.rowcount == 1

    async def known(self, post_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(post_ids), 900):
            chunk = list(post_ids[start:start + 900])
            marks = ",".join("?" * len(chunk))
            rows = await self.db.fetchall(
                f"SELECT post_id FROM x_mentions WHERE post_id IN ({marks})", chunk)
            found.update(str(r[0]) for r in rows)
        return found

    async def get(self, post_id: str) -> MentionRow | None:
        row = await self.db.fetchone(
            f"SELECT {_MENTION_COLUMNS} FROM x_mentions WHERE post_id = ?", (post_id,))
        return _mention(row) if row else None

    async def with_status(self, status: str, limit: int = 1_000) -> list[MentionRow]:
        """Mentions in one status, oldest first (ids grow with time)."""
        rows = await self.db.fetchall(
            f"SELECT {_MENTION_COLUMNS} FROM x_mentions WHERE status = ? "
            "ORDER BY length(post_id), post_id LIMIT ?", (status, limit))
        return [_mention(r) for r in rows]

    async def mark_posting(self, post_id: str, text: str) -> None:
        await self.db.execute(
            "UPDATE x_mentions SET status = 'posting', attempts = attempts + 1, "
            "reply_text = ? WHERE post_id = ? AND status IN ('claimed', 'posting')",
            (text, post_id))

    async def mark_replied(self, post_id: str, reply_id: str | None, at: int,
                           detail: str | None = None) -> None:
        await self.db.execute(
            "UPDATE x_mentions SET status = 'replied', reply_id = ?, reply_text = NULL, "
            "args = '[]', answered_at = ?, detail = ? WHERE post_id = ?",
            (reply_id, at, detail, post_id))

    async def mark_unposted(self, post_id: str, detail: str | None = None) -> None:
        """Back to 'claimed': the last attempt is known not to have posted anything."""
        await self.db.execute(
            "UPDATE x_mentions SET status = 'claimed', detail = ? WHERE post_id = ?",
            (detail, post_id))

    async def mark_final(self, post_id: str, status: str, detail: str, at: int) -> None:
        if status not in ("failed", "skipped"):
            raise ValueError(f"not a final status: {status}")
        await self.db.execute(
            "UPDATE x_mentions SET status = ?, detail = ?, reply_text = NULL, args = '[]', "
            "answered_at = ? "
            "WHERE post_id = ?", (status, detail[:200], at, post_id))

    async def replies_to_author_since(self, author_id: str, since: int) -> int:
        row = await self.db.fetchone(
            "SELECT count(*) FROM x_mentions WHERE author_id = ? AND status = 'replied' "
            "AND answered_at >= ?", (author_id, since))
        return int(row[0]) if row else 0

    async def answered_in_conversation(self, conversation_id: str, author_id: str,
                                       other_than: str) -> bool:
        row = await self.db.fetchone(
            "SELECT 1 FROM x_mentions WHERE conversation_id = ? AND author_id = ? "
            "AND post_id != ? AND status = 'replied' LIMIT 1",
            (conversation_id, author_id, other_than))
        return row is not None

    async def status_counts(self) -> dict[str, int]:
        rows = await self.db.fetchall("SELECT status, count(*) FROM x_mentions GROUP BY status")
        return {str(r[0]): int(r[1]) for r in rows}

    # -- spend ----------------------------------------------------------------
    async def charge(self, day: int, kind: str, resource_ids: Iterable[str]) -> list[str]:
        """Record billable resources; returns those not already charged that day."""
        fresh: list[str] = []
        async with self.db.write() as conn:
            for resource_id in dict.fromkeys(resource_ids):
                cur = await conn.execute(
                    "INSERT OR IGNORE INTO x_charges (day, kind, resource_id) VALUES (?, ?, ?)",
                    (day, kind, resource_id))
                if cur.rowcount == 1:
                    fresh.append(resource_id)
            if fresh:
                await conn.execute(
                    "INSERT INTO x_spend (day, kind, count) VALUES (?, ?, ?) "
                    "ON CONFLICT (day, kind) DO UPDATE SET count = x_spend.count + excluded.count",
                    (day, kind, len(fresh)))
        return fresh

    async def charged_on(self, day: int) -> set[tuple[str, str]]:
        rows = await self.db.fetchall(
            "SELECT kind, resource_id FROM x_charges WHERE day = ?", (day,))
        return {(str(r[0]), str(r[1])) for r in rows}

    async def spend(self, first_day: int, last_day: int) -> dict[str, int]:
        """Billable resources per kind over days first_day..last_day inclusive."""
        rows = await self.db.fetchall(
            "SELECT kind, sum(count) FROM x_spend WHERE day >= ? AND day <= ? GROUP BY kind",
            (first_day, last_day))
        return {str(r[0]): int(r[1]) for r in rows}

    async def prune_charges(self, before_day: int) -> None:
        await self.db.execute("DELETE FROM x_charges WHERE day < ?", (before_day,))

    # -- profiles -------------------------------------------------------------
    async def profiles(self, user_ids: Sequence[str]) -> dict[str, ProfileRow]:
        found: dict[str, ProfileRow] = {}
        for start in range(0, len(user_ids), 900):
            chunk = list(user_ids[start:start + 900])
            marks = ",".join("?" * len(chunk))
            rows = await self.db.fetchall(
                f"SELECT {_PROFILE_COLUMNS} FROM x_profiles WHERE user_id IN ({marks})", chunk)
            found.update((str(r["user_id"]), _profile(r)) for r in rows)
        return found

    async def profile_by_username(self, username: str) -> ProfileRow | None:
        row = await self.db.fetchone(
            f"SELECT {_PROFILE_COLUMNS} FROM x_profiles WHERE username = ? COLLATE NOCASE "
            "ORDER BY fetched_at DESC LIMIT 1", (username,))
        return _profile(row) if row else None

    async def put_profiles(self, rows: Sequence[ProfileRow]) -> None:
        """Upsert looked-up profiles; an engagement sample already stored is kept."""
        if not rows:
            return
        await self.db.executemany(
            "INSERT INTO x_profiles (user_id, username, status, followers, listed, fetched_at, "
            "latest_post_id) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
            "username = CASE WHEN excluded.username != '' THEN excluded.username "
            "ELSE x_profiles.username END, status = excluded.status, "
            "followers = excluded.followers, listed = excluded.listed, "
            "fetched_at = excluded.fetched_at, "
            "latest_post_id = coalesce(excluded.latest_post_id, x_profiles.latest_post_id)",
            [(r.user_id, r.username, r.status, r.followers, r.listed, r.fetched_at,
              r.latest_post_id) for r in rows])

    async def put_engagement(self, user_id: str, posts: int, likes: float, retweets: float,
                             replies: float, quotes: float, at: int,
                             status: str | None = None) -> None:
        await self.db.execute(
            "UPDATE x_profiles SET posts_sampled = ?, avg_likes = ?, avg_retweets = ?, "
            "avg_replies = ?, avg_quotes = ?, posts_at = ?, status = coalesce(?, status) "
            "WHERE user_id = ?", (posts, likes, retweets, replies, quotes, at, status, user_id))

    # -- what the bot posted --------------------------------------------------
    async def recent_hashes(self, since: int, other_than: str | None = None) -> set[str]:
        """Hashes posted since `since`, leaving out those sent for mention `other_than`."""
        rows = await self.db.fetchall(
            "SELECT text_hash FROM x_sent WHERE sent_at >= ? AND (? IS NULL OR mention_id != ?)",
            (since, other_than, other_than))
        return {str(r[0]) for r in rows}

    async def add_sent(self, text_hash: str, mention_id: str, at: int) -> None:
        await self.db.execute(
            "INSERT INTO x_sent (text_hash, mention_id, sent_at) VALUES (?, ?, ?) "
            "ON CONFLICT (text_hash) DO UPDATE SET mention_id = excluded.mention_id, "
            "sent_at = excluded.sent_at", (text_hash, mention_id, at))

    async def prune_sent(self, before: int) -> None:
        await self.db.execute("DELETE FROM x_sent WHERE sent_at < ?", (before,))
