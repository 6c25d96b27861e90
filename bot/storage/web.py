"""What the public web leaderboard reads (bot/web/): communities by their random slug,
and members by their random page token.

Neither address is an id from elsewhere: a community's slug is made on the first
/kloutadmin web on (guild_settings.web_slug), a member's token the first time a board
page lists them (web_members). Both are looked up on every request, not cached in
memory, so a `klout-bot web` process sees a /kloutadmin web off or a forget made by the
bot's own process at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from bot.storage.accounts import account_from_row
from bot.storage.db import Database
from bot.storage.models import Account
from bot.storage.reads import CHUNK

TOKEN_BYTES = 9  # 12 URL-safe characters: 72 random bits, never guessed


@dataclass(frozen=True, slots=True)
class WebCommunity:
    id: int
    platform: str
    external_id: str
    name: str | None
    slug: str


def new_slug() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


class WebRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def community(self, slug: str) -> WebCommunity | None:
        """The community whose web board is on at `slug`; None when there is none, or
        it is off, or the bot left it."""
        row = await self.db.fetchone(
            "SELECT c.id, c.platform, c.external_id, c.name, g.web_slug "
            "FROM guild_settings g JOIN communities c ON c.id = g.community_id "
            "WHERE g.web_slug = ? AND g.web_enabled = 1 AND c.removed_at IS NULL", (slug,))
        if row is None:
            return None
        return WebCommunity(int(row[0]), str(row[1]), str(row[2]), row[3], str(row[4]))

    async def tokens(self, community_id: int, account_ids: Sequence[int]) -> dict[int, str]:
        """Each member's page token, made for those who have none yet."""
        ids = list(dict.fromkeys(account_ids))
        found = await self._tokens(community_id, ids)
        missing = [a for a in ids if a not in found]
        if missing:
            async with self.db.write() as conn:
                # OR IGNORE: another request may have made one meanwhile; read it back.
                await conn.executemany(
                    "INSERT OR IGNORE INTO web_members (community_id, account_id, token) "
                    "VALUES (?, ?, ?)",
                    [(community_id, a, secrets.token_urlsafe(TOKEN_BYTES)) for a in missing])
            found.update(await self._tokens(community_id, missing))
        return found

    async def _tokens(self, community_id: int, ids: list[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            marks = ",".join("?" * len(chunk))
            for row in await self.db.fetchall(
                    "SELECT account_id, token FROM web_members WHERE community_id = ? "
                    f"AND account_id IN ({marks})", (community_id, *chunk)):
                out[int(row[0])] = str(row[1])
        return out

    async def member(self, community_id: int, token: str) -> tuple[Account, str] | None:
        """The member behind a page token and the name the board shows, unless they
        opted out (a forget deletes the token with the account)."""
        row = await self.db.fetchone(
            "SELECT a.*, coalesce(m.display_name, a.display_name, a.handle, a.external_id) "
            "AS shown FROM web_members w JOIN accounts a ON a.id = w.account_id "
            "LEFT JOIN members m ON m.community_id = w.community_id AND m.account_id = a.id "
            "WHERE w.community_id = ? AND w.token = ? AND a.opted_out = 0",
            (community_id, token))
        return None if row is None else (account_from_row(row), str(row["shown"]))
