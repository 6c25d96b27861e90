"""Communities, accounts and members."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace

import aiosqlite
import numpy as np

from bot.storage.bulk import FactArrays, load_facts
from bot.storage.db import Database
from bot.storage.models import Account, Community
from bot.storage.reads import Read, chunked, first, rows
from bot.storage.vouches import load_seeds

_ACCOUNT_COLUMNS = (
    "id, platform, external_id, handle, display_name, is_bot, followers, listed, opted_out, "
    "created_at"
)
# Names seen are kept (coalesce), so a later event without a name never erases one;
# likewise the creation time, which the platform fixes once.
_UPSERT_ACCOUNT = (
    "INSERT INTO accounts (platform, external_id, handle, display_name, is_bot, "
    "updated_at, created_at) VALUES (?, ?, ?, ?, coalesce(?, 0), ?, ?) "
    "ON CONFLICT (platform, external_id) DO UPDATE SET "
    "handle = coalesce(excluded.handle, accounts.handle), "
    "display_name = coalesce(excluded.display_name, accounts.display_name), "
    "is_bot = coalesce(?, accounts.is_bot), "
    "updated_at = coalesce(excluded.updated_at, accounts.updated_at), "
    "created_at = coalesce(excluded.created_at, accounts.created_at)"
)


# (platform, external_id, display_name, handle, is_bot, updated_at, created_at)
AccountUpsert = tuple[str, str, str | None, str | None, bool | None, int | None, int | None]


def account_columns(table: str) -> str:
    """The columns account_from_row reads, of `table` (an alias of accounts) in a join."""
    return ", ".join(f"{table}.{c.strip()}" for c in _ACCOUNT_COLUMNS.split(","))


def account_from_row(row: sqlite3.Row) -> Account:
    return Account(
        id=row["id"], platform=row["platform"], external_id=row["external_id"],
        handle=row["handle"], display_name=row["display_name"], is_bot=bool(row["is_bot"]),
        followers=row["followers"], listed=row["listed"], opted_out=bool(row["opted_out"]),
        created_at=row["created_at"],
    )


def account_by_id(account_id: int) -> Read[Account | None]:
    return first(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = ?", (account_id,),
                 account_from_row)


def account_by_external(platform: str, external_id: str) -> Read[Account | None]:
    return first(
        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE platform = ? AND external_id = ?",
        (platform, external_id), account_from_row)


def names(community_id: int, account_ids: Sequence[int]) -> Read[dict[int, str]]:
    """See AccountRepository.names."""
    return chunked(
        lambda marks: "SELECT a.id, coalesce(m.display_name, a.display_name, a.handle, "
        "a.external_id) FROM accounts a LEFT JOIN members m ON m.account_id = a.id "
        f"AND m.community_id = ? WHERE a.id IN ({marks}) AND a.opted_out = 0",
        (community_id,), account_ids, lambda found: {int(r[0]): str(r[1]) for r in found})


def opted_out_digest() -> Read[tuple[int, int]]:
    """See AccountRepository.opted_out_digest."""
    return rows("SELECT count(*), coalesce(sum(id), 0) FROM accounts WHERE opted_out = 1",
                (), lambda found: (int(found[0][0]), int(found[0][1])))


class CommunityRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: dict[tuple[str, str], Community] = {}

    async def ensure(self, platform: str, external_id: str, name: str | None = None) -> Community:
        key = (platform, external_id)
        cached = self._cache.get(key)
        if cached is not None and (name is None or name == cached.name):
            return cached
        async with self.db.write() as conn:
            await conn.execute(
                "INSERT INTO communities (platform, external_id, name) VALUES (?, ?, ?) "
                "ON CONFLICT (platform, external_id) DO UPDATE SET "
                "name = coalesce(excluded.name, communities.name), removed_at = NULL",
                (platform, external_id, name),
            )
            cur = await conn.execute(
                "SELECT id, platform, external_id, name FROM communities "
                "WHERE platform = ? AND external_id = ?", (platform, external_id))
            row = await cur.fetchone()
        if row is None:  # pragma: no cover - the upsert above guarantees a row
            raise RuntimeError("community upsert returned no row")
        community = Community(row["id"], row["platform"], row["external_id"], row["name"])
        self._cache[key] = community
        return community

    def peek(self, platform: str, external_id: str) -> Community | None:
        """The community if this process has already ensured it; never touches the disk."""
        return self._cache.get((platform, external_id))

    async def get(self, platform: str, external_id: str) -> Community | None:
        cached = self._cache.get((platform, external_id))
        if cached is not None:
            return cached
        row = await self.db.fetchone(
            "SELECT id, platform, external_id, name FROM communities "
            "WHERE platform = ? AND external_id = ?", (platform, external_id))
        if row is None:
            return None
        return Community(row["id"], row["platform"], row["external_id"], row["name"])

    async def all(self) -> list[Community]:
        rows = await self.db.fetchall(
            "SELECT id, platform, external_id, name FROM communities "
            "WHERE removed_at IS NULL ORDER BY id")
        return [Community(r["id"], r["platform"], r["external_id"], r["name"]) for r in rows]

    def drop_cached(self, platform: str, external_id: str) -> None:
        """Forget the cached row (after a wipe, a purge or a removal changed it)."""
        self._cache.pop((platform, external_id), None)


class AccountRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._ids: dict[tuple[str, str], int] = {}

    def drop_cached(self, platform: str, external_id: str) -> None:
        """Forget a cached id (the account was deleted; a new one gets a new id)."""
        self._ids.pop((platform, external_id), None)

    def drop_all_cached(self) -> None:
        self._ids.clear()

    async def ensure(
        self,
        platform: str,
        external_id: str,
        *,
        display_name: str | None = None,
        handle: str | None = None,
        is_bot: bool | None = None,
        updated_at: int | None = None,
        created_at: int | None = None,
    ) -> int:
        """Create or refresh an account; names seen are kept so boards never say 'Unknown'.
        `created_at`: when the platform says the account was created (epoch seconds)."""
        key = (platform, external_id)
        known = self._ids.get(key)
        if known is not None and display_name is None and handle is None and is_bot is None \
                and created_at is None:
            return known
        async with self.db.write() as conn:
            account_id = await self.upsert_in(conn, platform, external_id, display_name,
                                              handle, is_bot, updated_at, created_at)
        return account_id

    async def upsert_in(
        self, conn: aiosqlite.Connection, platform: str, external_id: str, display_name: str | None,
        handle: str | None, is_bot: bool | None, updated_at: int | None,
        created_at: int | None = None,
    ) -> int:
        """Upsert inside an open write transaction (used by batched ingestion)."""
        cur = await conn.execute(
            _UPSERT_ACCOUNT + " RETURNING id",
            (platform, external_id, handle, display_name,
             None if is_bot is None else int(is_bot), updated_at, created_at,
             None if is_bot is None else int(is_bot)),
        )
        row = await cur.fetchone()
        if row is None:  # pragma: no cover - RETURNING always yields the row
            raise RuntimeError("account upsert returned no row")
        self._ids[(platform, external_id)] = int(row[0])
        return int(row[0])

    async def set_audience(self, account_id: int, followers: int | None,
                           listed: int | None, created_at: int | None = None) -> None:
        """Public facts from a profile; a creation time not given keeps the stored one."""
        await self.db.execute(
            "UPDATE accounts SET followers = ?, listed = ?, "
            "created_at = coalesce(?, created_at) WHERE id = ?",
            (followers, listed, created_at, account_id))

    async def facts(self, account_ids: list[int]
                    ) -> list[tuple[int, bool, int | None, int | None]]:
        """(id, is_bot, followers, listed) for the given accounts."""
        out: list[tuple[int, bool, int | None, int | None]] = []
        for start in range(0, len(account_ids), 900):  # SQLite's bound-parameter limit
            chunk = account_ids[start:start + 900]
            marks = ",".join("?" * len(chunk))
            rows = await self.db.fetchall(
                f"SELECT id, is_bot, followers, listed FROM accounts WHERE id IN ({marks})",
                chunk)
            out.extend((int(r[0]), bool(r[1]), r[2], r[3]) for r in rows)
        return out

    async def fact_arrays(self, account_ids: np.ndarray, community_id: int | None = None
                          ) -> FactArrays:
        """Facts of many accounts (sorted ids) as arrays, in one read off the event loop;
        with `community_id`, also who is vouched for there (the trust seeds)."""
        def work(conn: sqlite3.Connection) -> FactArrays:
            facts = load_facts(conn, account_ids)
            if community_id is None:
                return facts
            return replace(facts, seed=load_seeds(conn, community_id, account_ids))
        return await self.db.run_sync(work)

    async def names(self, community_id: int, account_ids: list[int]) -> dict[int, str]:
        """Names to show for these accounts here; opted-out members are left out (they
        asked not to be shown, including as someone else's contributor)."""
        return await self.db.read(names(community_id, account_ids))

    async def get(self, account_id: int) -> Account | None:
        return await self.db.read(account_by_id(account_id))

    async def by_external(self, platform: str, external_id: str) -> Account | None:
        return await self.db.read(account_by_external(platform, external_id))

    async def find_by_name(self, platform: str, name: str) -> Account | None:
        """Look an account up by handle, then display name, ignoring case."""
        row = await self.db.fetchone(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE platform = ? "
            "AND (handle = ? COLLATE NOCASE OR external_id = ?) ORDER BY id LIMIT 1",
            (platform, name, name))
        if row is None:
            row = await self.db.fetchone(
                f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE platform = ? "
                "AND display_name = ? COLLATE NOCASE ORDER BY id LIMIT 1", (platform, name))
        return account_from_row(row) if row else None

    async def upsert_many(
        self, rows: Sequence[AccountUpsert],
    ) -> dict[tuple[str, str], int]:
        """Bulk `ensure`: rows are (platform, external_id, display_name, handle, is_bot,
        updated_at, created_at); None leaves a stored value alone. Returns
        (platform, external_id) -> id."""
        if not rows:
            return {}
        params = [(p, e, h, d, None if b is None else int(b), u, c,
                   None if b is None else int(b))
                  for p, e, d, h, b, u, c in rows]
        wanted: dict[str, list[str]] = {}
        for p, e, *_ in rows:
            wanted.setdefault(p, []).append(e)
        found: dict[tuple[str, str], int] = {}
        async with self.db.write() as conn:
            await conn.executemany(
                _UPSERT_ACCOUNT, params)
            for platform, ids in wanted.items():
                unique = list(dict.fromkeys(ids))
                for start in range(0, len(unique), 900):  # SQLite's bound-parameter limit
                    chunk = unique[start:start + 900]
                    marks = ",".join("?" * len(chunk))
                    cur = await conn.execute(
                        f"SELECT external_id, id FROM accounts WHERE platform = ? "
                        f"AND external_id IN ({marks})", (platform, *chunk))
                    found.update(((platform, str(r[0])), int(r[1]))
                                 for r in await cur.fetchall())
        self._ids.update(found)
        return found

    async def touch_members(self, rows: Sequence[tuple[int, int, str | None, int]]) -> None:
        """Record membership and per-community names.

        Rows are (community_id, account_id, display_name, seen)."""
        if rows:
            await self.db.executemany(
                "INSERT INTO members (community_id, account_id, display_name, last_seen) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (community_id, account_id) DO UPDATE SET "
                "display_name = coalesce(excluded.display_name, members.display_name), "
                "last_seen = max(coalesce(members.last_seen, 0), excluded.last_seen)", rows)

    async def opted_out_digest(self) -> tuple[int, int]:
        """(how many, sum of ids) of opted-out accounts: changes whenever the set does,
        and costs a walk of the small opted-out index, so it can key caches."""
        return await self.db.read(opted_out_digest())

    async def bot_ids(self, platform: str) -> list[str]:
        """External ids of the accounts known to be bots on a platform."""
        rows = await self.db.fetchall(
            "SELECT external_id FROM accounts WHERE platform = ? AND is_bot = 1", (platform,))
        return [str(r[0]) for r in rows]
