"""Consent and erasure: opt-out, forgotten-person tombstones, account links, and
deleting everything stored about a person or a community.

Other repositories own their tables; erasure reaches them by the schema itself, so a
table added later is covered without anyone remembering to come here:

- every column named in ACCOUNT_REF_COLUMNS holds an accounts.id, and forgetting a
  person deletes every row that points at them through any of those columns;
- every table with a community_id column belongs to one community, and wiping the
  community deletes its rows (configuration tables in COMMUNITY_CONFIG_TABLES are kept
  by a wipe and deleted by the purge after the bot left).

Tables that name people or communities some other way register a statement below.
tests/privacy/test_schema_coverage.py fails when a table fits none of these.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import aiosqlite

from bot.storage.accounts import (
    AccountRepository,
    CommunityRepository,
    account_columns,
    account_from_row,
)
from bot.storage.db import Database
from bot.storage.events import EventRepository
from bot.storage.models import Account
from bot.storage.reads import Read, rows
from commands.privacy_types import Footprint

ACCOUNT_REF_COLUMNS = ("account_id", "actor_id", "target_id", "linked_id")

# Tables that name a person by platform id instead of accounts.id. Each statement
# deletes (or blanks) one person's rows and takes (external_id, platform).
EXTERNAL_ID_STATEMENTS: tuple[tuple[str, str], ...] = (
    ("guild_exclusions",
     "DELETE FROM guild_exclusions WHERE kind = 'user' AND external_id = ? "
     "AND community_id IN (SELECT id FROM communities WHERE platform = ?)"),
    # Mention rows are scrubbed, not deleted: the post id (and status) must stay, or a
    # poll that re-reads the overlap would claim and answer the same mention again. The
    # one being answered right now (the "forget confirm" itself) keeps its pending reply.
    ("x_mentions",
     "UPDATE x_mentions SET author_id = '', author_handle = '', targets = '[]', "
     "unresolved = '[]', error_context = NULL, args = '[]', "
     "reply_text = CASE WHEN status IN ('claimed', 'posting') THEN reply_text END, "
     "detail = NULL WHERE author_id = ? AND ? = 'twitter'"),
    # Others' questions about them: the answered list of whom they asked about.
    ("x_mentions",
     "UPDATE x_mentions SET targets = '[]' WHERE instr(targets, '\"' || ? || '\"') > 0 "
     "AND ? = 'twitter'"),
    ("x_profiles", "DELETE FROM x_profiles WHERE user_id = ? AND ? = 'twitter'"),
    ("x_charges", "DELETE FROM x_charges WHERE resource_id = ? AND ? = 'twitter'"),
)

# A community's configuration is the admins' choice, not anyone's data: a wipe keeps it
# (so the admins need not set the bot up again); the purge after removal deletes it.
COMMUNITY_CONFIG_TABLES = frozenset({"guild_settings", "guild_exclusions", "tier_roles"})

# Tables that name a community by its platform id instead of communities.id. Each
# statement takes (platform, external_id); "wipe" statements also run on purge.
COMMUNITY_EXTERNAL_STATEMENTS: tuple[tuple[str, str, str], ...] = (
    ("leaderboard_posts", "wipe",
     "UPDATE leaderboard_posts SET payload = NULL WHERE destination_id IN "
     "(SELECT id FROM leaderboard_destinations WHERE platform = ? AND community = ?)"),
    ("leaderboard_destinations", "purge",
     "DELETE FROM leaderboard_destinations WHERE platform = ? AND community = ?"),
)

# Tables whose rows name no person and no community (or only the bot itself).
NOT_PERSONAL_TABLES = frozenset({
    "communities", "privacy_secret", "forgotten",
    "schema_migrations",  # which migrations ran
    "x_state", "x_spend", "x_sent",  # the bot's own state, totals, hashes of its posts
    # The bot's own posts to console destinations: what it said in public, like a
    # message in a channel (leaderboard lines carry names; see docs/privacy.md).
    "console_posts",
})

_VERDICT_CACHE = 200_000
_OWN_TABLES = ("events", "event_inbox", "scores", "score_history", "members", "account_links",
               "link_codes")


@dataclass(frozen=True, slots=True)
class LinkRow:
    account_id: int
    platform: str
    linked: Account
    linked_at: int


@dataclass(frozen=True, slots=True)
class PendingLink:
    account_id: int
    platform: str
    handle: str
    nonce: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class CommunityRow:
    id: int
    platform: str
    external_id: str
    name: str | None
    removed_at: int | None


class LinkConflict(Exception):
    """The account is already linked to someone else (or this person already has one)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def links_of(account_id: int) -> Read[list[LinkRow]]:
    """The accounts this one linked, by platform."""
    return rows(
        f"SELECT {account_columns('a')}, l.account_id AS link_owner, "
        "l.platform AS link_platform, l.linked_at AS link_at FROM account_links l "
        "JOIN accounts a ON a.id = l.linked_id WHERE l.account_id = ? ORDER BY l.platform",
        (account_id,),
        lambda found: [LinkRow(int(r["link_owner"]), str(r["link_platform"]),
                               account_from_row(r), int(r["link_at"])) for r in found])


class PrivacyRepository:
    def __init__(self, db: Database, accounts: AccountRepository,
                 communities: CommunityRepository, events: EventRepository) -> None:
        self.db = db
        # Events still in the ingestion inbox are folded in before they are counted,
        # exported or deleted, so every answer here covers them too.
        self.events = events
        self.accounts = accounts
        self.communities = communities
        self._salt: bytes | None = None
        self._opted_out: set[tuple[str, str]] = set()
        self._forgotten: set[bytes] = set()
        # blocks() verdicts, so the HMAC runs once per person, not once per event.
        self._verdicts: dict[tuple[str, str], bool] = {}
        self._loaded = False
        # Bumped whenever accounts or communities are deleted, so caches of their ids
        # elsewhere (the ingestor's) know to start over.
        self.generation = 0
        # Bumped whenever anyone's consent changes (opt-out, forget, tombstones), so
        # caches of verdicts elsewhere (the ingestor's ready people) start over.
        self.consent_version = 0
        # Bumped on every change to who may be shown or how accounts link (opt-outs,
        # tombstones, forgets, wipes, links), and the listeners told, so score-card
        # caches start over (and let go of names a forget deleted).
        self.version = 0
        self.listeners: list[Callable[[], None]] = []

    def _changed(self) -> None:
        self.version += 1
        for listener in self.listeners:
            listener()

    # -- the consent gate ------------------------------------------------------
    @property
    def loaded(self) -> bool:
        return self._loaded

    async def load(self) -> None:
        """Read opt-outs and tombstones into memory; ingestion checks them per event."""
        row = await self.db.fetchone("SELECT salt FROM privacy_secret WHERE id = 1")
        if row is None:  # pragma: no cover - the migration inserts it
            raise RuntimeError("privacy_secret is empty")
        self._salt = bytes(row[0])
        opted = await self.db.fetchall(
            "SELECT platform, external_id FROM accounts WHERE opted_out = 1")
        self._opted_out = {(str(r[0]), str(r[1])) for r in opted}
        self._forgotten = {bytes(r[0]) for r in await self.db.fetchall(
            "SELECT digest FROM forgotten")}
        self._loaded = True
        self._consent_changed()

    async def ensure_loaded(self) -> None:
        if not self._loaded:
            await self.load()

    def blocks(self, platform: str, external_id: str) -> bool:
        """True when nothing new may be stored about this person. Call ensure_loaded first."""
        key = (platform, external_id)
        verdict = self._verdicts.get(key)
        if verdict is None:
            if not self._loaded:
                raise RuntimeError("PrivacyRepository.blocks before ensure_loaded")
            verdict = key in self._opted_out or (
                bool(self._forgotten) and self.digest(platform, external_id) in self._forgotten)
            if len(self._verdicts) >= _VERDICT_CACHE:
                self._verdicts.clear()
            self._verdicts[key] = verdict
        return verdict

    def is_opted_out(self, platform: str, external_id: str) -> bool:
        return (platform, external_id) in self._opted_out

    def is_forgotten(self, platform: str, external_id: str) -> bool:
        return self.digest(platform, external_id) in self._forgotten

    def digest(self, platform: str, external_id: str) -> bytes:
        if self._salt is None:
            raise RuntimeError("PrivacyRepository used before load")
        message = platform.encode() + b"\x00" + external_id.encode()
        return hmac.new(self._salt, message, hashlib.sha256).digest()

    def derive(self, purpose: str, nonce: str, length: int) -> bytes:
        """A keyed value for one-time codes: the code is recomputed, never stored."""
        if self._salt is None:
            raise RuntimeError("PrivacyRepository used before load")
        message = purpose.encode() + b"\x00" + nonce.encode()
        return hmac.new(self._salt, message, hashlib.sha256).digest()[:length]

    def _consent_changed(self) -> None:
        """Consent moved: verdict caches start over, and so does everything _changed tells."""
        self._verdicts.clear()
        self.consent_version += 1
        self._changed()

    # -- opt-out -----------------------------------------------------------------
    async def set_opted_out(self, accounts: Sequence[Account], opted_out: bool) -> None:
        await self.ensure_loaded()
        ids = [a.id for a in accounts]
        if not ids:
            return
        marks = _marks(ids)
        async with self.db.write() as conn:
            await conn.execute(f"UPDATE accounts SET opted_out = ? WHERE id IN ({marks})",
                               (int(opted_out), *ids))
            if opted_out:
                # An opted-out member is not scored, and a vouch for them would still
                # name them in the admins' list: it goes (an admin may vouch again).
                await conn.execute(f"DELETE FROM vouches WHERE account_id IN ({marks})", ids)
        for a in accounts:
            if opted_out:
                self._opted_out.add((a.platform, a.external_id))
            else:
                self._opted_out.discard((a.platform, a.external_id))
        self._consent_changed()

    async def lift_tombstone(self, platform: str, external_id: str) -> bool:
        """Let a forgotten person back in (they asked, or proved they own the account)."""
        await self.ensure_loaded()
        digest = self.digest(platform, external_id)
        if digest not in self._forgotten:
            return False
        await self.db.execute("DELETE FROM forgotten WHERE digest = ?", (digest,))
        self._forgotten.discard(digest)
        self._consent_changed()
        return True

    async def tombstone(self, platform: str, external_id: str) -> None:
        """Mark someone forgotten who has no account here (nothing else to delete)."""
        await self.ensure_loaded()
        digest = self.digest(platform, external_id)
        await self.db.execute("INSERT OR IGNORE INTO forgotten (digest) VALUES (?)", (digest,))
        self._forgotten.add(digest)
        self._opted_out.discard((platform, external_id))
        self._consent_changed()

    # -- a person's footprint, and forgetting it ---------------------------------
    async def footprint(self, accounts: Sequence[Account]) -> Footprint:
        await self.events.fold()
        ids = [a.id for a in accounts]
        if not ids:
            return Footprint()
        tables = await self._schema()
        m = _marks(ids)
        counts: dict[str, int] = {}

        async def one(sql: str, params: Sequence[object]) -> int:
            row = await self.db.fetchone(sql, params)
            return int(row[0]) if row else 0

        counts["events_made"] = await one(
            f"SELECT count(*) FROM events WHERE actor_id IN ({m})", ids)
        counts["events_received"] = await one(
            f"SELECT count(*) FROM events WHERE target_id IN ({m}) AND actor_id NOT IN ({m})",
            (*ids, *ids))
        counts["scores"] = await one(f"SELECT count(*) FROM scores WHERE account_id IN ({m})", ids)
        counts["history"] = await one(
            f"SELECT count(*) FROM score_history WHERE account_id IN ({m})", ids)
        counts["memberships"] = await one(
            f"SELECT count(*) FROM members WHERE account_id IN ({m})", ids)
        counts["links"] = await one(
            f"SELECT count(*) FROM account_links WHERE account_id IN ({m}) OR linked_id IN ({m})",
            (*ids, *ids)) + await one(
            f"SELECT count(*) FROM link_codes WHERE account_id IN ({m})", ids)
        communities = await one(
            "SELECT count(*) FROM (SELECT community_id FROM members WHERE account_id IN "
            f"({m}) UNION SELECT community_id FROM events WHERE actor_id IN ({m}) "
            f"OR target_id IN ({m}))", (*ids, *ids, *ids))
        other: dict[str, int] = {}
        for table, columns in tables.items():
            refs = [c for c in columns if c in ACCOUNT_REF_COLUMNS]
            if table in _OWN_TABLES or not refs:
                continue
            where = " OR ".join(f'"{c}" IN ({m})' for c in refs)
            n = await one(f'SELECT count(*) FROM "{table}" WHERE {where}', ids * len(refs))
            if n:
                other[table] = n
        return Footprint(counts["events_made"], counts["events_received"], counts["scores"],
                         counts["history"], counts["memberships"], counts["links"],
                         len(ids), communities, other)

    def block(self, accounts: Sequence[Account]) -> None:
        """Stop ingestion for these accounts now, in memory, before a forget deletes
        them: anything submitted meanwhile is dropped instead of outliving the delete."""
        for a in accounts:
            self._forgotten.add(self.digest(a.platform, a.external_id))
        self._consent_changed()

    async def forget(self, accounts: Sequence[Account]) -> Footprint:
        """Delete every row about these accounts, everywhere, and leave only tombstones.

        Communities they were active in are marked stale, so the next rescore recomputes
        everyone else without their actions.
        """
        await self.ensure_loaded()
        ids = [a.id for a in accounts]
        if not ids:
            return Footprint()
        before = await self.footprint(accounts)
        tables = await self._schema()
        m = _marks(ids)
        async with self.db.erasing() as conn:
            touched = [int(r[0]) for r in await (await conn.execute(
                f"SELECT DISTINCT community_id FROM events WHERE actor_id IN ({m}) "
                f"OR target_id IN ({m})", (*ids, *ids))).fetchall()]
            for table, columns in tables.items():
                refs = [c for c in columns if c in ACCOUNT_REF_COLUMNS]
                if table == "accounts" or not refs:
                    continue
                where = " OR ".join(f'"{c}" IN ({m})' for c in refs)
                await conn.execute(f'DELETE FROM "{table}" WHERE {where}', ids * len(refs))
            for table, sql in EXTERNAL_ID_STATEMENTS:
                if table in tables:
                    for a in accounts:
                        await conn.execute(sql, (a.external_id, a.platform))
            await conn.execute(f"DELETE FROM accounts WHERE id IN ({m})", ids)
            await conn.executemany(
                "INSERT OR IGNORE INTO forgotten (digest) VALUES (?)",
                [(self.digest(a.platform, a.external_id),) for a in accounts])
            await _mark_stale(conn, touched)
        for a in accounts:
            self._forgotten.add(self.digest(a.platform, a.external_id))
            self._opted_out.discard((a.platform, a.external_id))
            self.accounts.drop_cached(a.platform, a.external_id)
        self._consent_changed()
        self.generation += 1
        return replace(before, purge_pending=self.db.purge_pending)

    # -- what an export contains ------------------------------------------------
    async def memberships(self, account_ids: Sequence[int]
                          ) -> list[tuple[int, CommunityRow, str | None, int | None]]:
        """(account_id, community, display name there, last seen) for every community
        holding anything about these accounts."""
        await self.events.fold()
        if not account_ids:
            return []
        m = _marks(account_ids)
        rows = await self.db.fetchall(
            "SELECT x.account_id, c.id, c.platform, c.external_id, c.name, c.removed_at, "
            "mb.display_name, mb.last_seen FROM ("
            f"SELECT account_id, community_id FROM members WHERE account_id IN ({m}) "
            f"UNION SELECT actor_id, community_id FROM events WHERE actor_id IN ({m}) "
            f"UNION SELECT target_id, community_id FROM events WHERE target_id IN ({m}) "
            f"UNION SELECT account_id, community_id FROM scores WHERE account_id IN ({m})"
            ") x JOIN communities c ON c.id = x.community_id "
            "LEFT JOIN members mb ON mb.account_id = x.account_id "
            "AND mb.community_id = x.community_id ORDER BY c.id, x.account_id",
            (*account_ids, *account_ids, *account_ids, *account_ids))
        return [(int(r[0]), CommunityRow(int(r[1]), r[2], r[3], r[4], r[5]), r[6], r[7])
                for r in rows]

    async def events_of(self, community_id: int, account_id: int
                        ) -> list[tuple[int, int, int, int, str, str]]:
        """(actor_id, target_id, kind, ts, channel, source) of events this account made or
        received in one community, oldest first."""
        await self.events.fold()
        rows = await self.db.fetchall(
            "SELECT actor_id, target_id, kind, ts, channel, source FROM events "
            "WHERE community_id = ? AND (actor_id = ? OR target_id = ?) ORDER BY ts, id",
            (community_id, account_id, account_id))
        return [(int(r[0]), int(r[1]), int(r[2]), int(r[3]), str(r[4]), str(r[5]))
                for r in rows]

    async def score_of(self, community_id: int, account_id: int
                       ) -> tuple[int, int, str, int] | None:
        """(score, rank, model_version, computed_at)."""
        row = await self.db.fetchone(
            "SELECT score, rank, model_version, computed_at FROM scores "
            "WHERE community_id = ? AND account_id = ?", (community_id, account_id))
        return (int(row[0]), int(row[1]), str(row[2]), int(row[3])) if row else None

    async def history_of(self, community_id: int, account_id: int
                         ) -> list[tuple[int, int | None]]:
        """Every stored history row, oldest first: (day, score) on each day the score
        changed, None from a day the member was no longer scored."""
        rows = await self.db.fetchall(
            "SELECT day, score FROM score_history WHERE community_id = ? AND account_id = ? "
            "ORDER BY day", (community_id, account_id))
        return [(int(r[0]), None if r[1] is None else int(r[1])) for r in rows]

    # -- linked accounts -------------------------------------------------------------
    async def links_of(self, account_id: int) -> list[LinkRow]:
        return await self.db.read(links_of(account_id))

    async def owner_of(self, linked_id: int) -> int | None:
        """The account that linked `linked_id`, if any."""
        row = await self.db.fetchone(
            "SELECT account_id FROM account_links WHERE linked_id = ?", (linked_id,))
        return int(row[0]) if row else None

    async def link(self, account_id: int, platform: str, linked_id: int, at: int) -> None:
        """Record a verified link; LinkConflict if either side is already linked."""
        async with self.db.write() as conn:
            cur = await conn.execute(
                "SELECT account_id FROM account_links WHERE linked_id = ? "
                "OR (account_id = ? AND platform = ?)", (linked_id, account_id, platform))
            clash = await cur.fetchone()
            if clash is not None:
                raise LinkConflict("taken" if int(clash[0]) != account_id else "already")
            await conn.execute(
                "INSERT INTO account_links (account_id, platform, linked_id, linked_at) "
                "VALUES (?, ?, ?, ?)", (account_id, platform, linked_id, at))
            await conn.execute("DELETE FROM link_codes WHERE account_id = ? AND platform = ?",
                               (account_id, platform))
        self._changed()

    async def unlink(self, account_id: int, platform: str) -> Account | None:
        """Remove the link; returns the account that was linked, if there was one."""
        row = await self.db.fetchone(
            "SELECT linked_id FROM account_links WHERE account_id = ? AND platform = ?",
            (account_id, platform))
        if row is None:
            return None
        await self.db.execute("DELETE FROM account_links WHERE account_id = ? AND platform = ?",
                              (account_id, platform))
        self._changed()
        return await self.accounts.get(int(row[0]))

    async def save_pending(self, pending: PendingLink) -> None:
        await self.db.execute(
            "INSERT INTO link_codes (account_id, platform, handle, nonce, expires_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id, platform) DO UPDATE SET "
            "handle = excluded.handle, nonce = excluded.nonce, expires_at = excluded.expires_at",
            (pending.account_id, pending.platform, pending.handle, pending.nonce,
             pending.expires_at))

    async def pending(self, account_id: int, platform: str) -> PendingLink | None:
        row = await self.db.fetchone(
            "SELECT handle, nonce, expires_at FROM link_codes WHERE account_id = ? "
            "AND platform = ?", (account_id, platform))
        if row is None:
            return None
        return PendingLink(account_id, platform, str(row[0]), str(row[1]), int(row[2]))

    async def drop_pending(self, account_id: int, platform: str) -> None:
        await self.db.execute("DELETE FROM link_codes WHERE account_id = ? AND platform = ?",
                              (account_id, platform))

    async def drop_expired_codes(self, now: int) -> int:
        async with self.db.write() as conn:
            cur = await conn.execute("DELETE FROM link_codes WHERE expires_at < ?", (now,))
            return cur.rowcount

    async def community_of(self, account_id: int) -> str | None:
        """The platform id of the community where this account scores highest (or, if
        unscored, where it was last seen): on a network such as X there is one."""
        row = await self.db.fetchone(
            "SELECT c.external_id FROM communities c LEFT JOIN scores s "
            "ON s.community_id = c.id AND s.account_id = ? LEFT JOIN members m "
            "ON m.community_id = c.id AND m.account_id = ? WHERE c.removed_at IS NULL "
            "AND (s.account_id IS NOT NULL OR m.account_id IS NOT NULL) "
            "ORDER BY s.raw IS NULL, s.raw DESC, m.last_seen DESC LIMIT 1",
            (account_id, account_id))
        return str(row[0]) if row else None

    # -- communities -------------------------------------------------------------------
    async def community(self, platform: str, external_id: str) -> CommunityRow | None:
        row = await self.db.fetchone(
            "SELECT id, platform, external_id, name, removed_at FROM communities "
            "WHERE platform = ? AND external_id = ?", (platform, external_id))
        return CommunityRow(int(row[0]), row[1], row[2], row[3], row[4]) if row else None

    async def community_footprint(self, community_id: int) -> Footprint:
        await self.events.fold()

        async def one(sql: str) -> int:
            row = await self.db.fetchone(sql, (community_id,))
            return int(row[0]) if row else 0

        return Footprint(
            events_made=await one("SELECT count(*) FROM events WHERE community_id = ?"),
            scores=await one("SELECT count(*) FROM scores WHERE community_id = ?"),
            history=await one("SELECT count(*) FROM score_history WHERE community_id = ?"),
            memberships=await one("SELECT count(*) FROM members WHERE community_id = ?"),
            communities=1,
        )

    async def mark_removed(self, platform: str, external_id: str, at: int) -> bool:
        async with self.db.write() as conn:
            cur = await conn.execute(
                "UPDATE communities SET removed_at = ? WHERE platform = ? AND external_id = ? "
                "AND removed_at IS NULL", (at, platform, external_id))
            changed = cur.rowcount > 0
        # The cache would let the next ensure() skip the write that clears removed_at.
        self.communities.drop_cached(platform, external_id)
        return changed

    async def removed_before(self, ts: int) -> list[CommunityRow]:
        rows = await self.db.fetchall(
            "SELECT id, platform, external_id, name, removed_at FROM communities "
            "WHERE removed_at IS NOT NULL AND removed_at <= ? ORDER BY id", (ts,))
        return [CommunityRow(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]

    async def delete_community(self, community: CommunityRow, *, keep_config: bool) -> Footprint:
        """Delete a community's data; with keep_config=False also its settings and the
        community itself. Accounts left with nothing anywhere are deleted too."""
        before = await self.community_footprint(community.id)
        tables = await self._schema()
        async with self.db.erasing() as conn:
            member_ids = [int(r[0]) for r in await (await conn.execute(
                "SELECT account_id FROM members WHERE community_id = ? UNION "
                "SELECT actor_id FROM events WHERE community_id = ? UNION "
                "SELECT target_id FROM events WHERE community_id = ? AND target_id > 0",
                (community.id, community.id, community.id))).fetchall()]
            for sql in _community_statements(tables, keep_config):
                await conn.execute(sql, (community.platform, community.external_id))
            for table, columns in tables.items():
                if "community_id" not in columns or table == "communities":
                    continue
                if keep_config and table in COMMUNITY_CONFIG_TABLES:
                    continue
                await conn.execute(f'DELETE FROM "{table}" WHERE community_id = ?',
                                   (community.id,))
            if not keep_config:
                await conn.execute("DELETE FROM communities WHERE id = ?", (community.id,))
            await _drop_orphans(conn, member_ids, tables)
        self.communities.drop_cached(community.platform, community.external_id)
        self.accounts.drop_all_cached()
        self.generation += 1
        self._changed()
        return replace(before, purge_pending=self.db.purge_pending)

    async def prune_events(self, before_ts: int, batch: int = 5_000) -> int:
        """Delete events older than `before_ts`, a batch per transaction so ingestion
        never waits long; returns how many went."""
        await self.events.fold()
        total = 0
        for community_id in [int(r[0]) for r in await self.db.fetchall(
                "SELECT id FROM communities")]:
            while True:
                async with self.db.write() as conn:
                    cur = await conn.execute(
                        "DELETE FROM events WHERE id IN (SELECT id FROM events "
                        "WHERE community_id = ? AND ts < ? LIMIT ?)",
                        (community_id, before_ts, batch))
                    deleted = cur.rowcount
                total += deleted
                if deleted < batch:
                    break
        return total

    # -- schema --------------------------------------------------------------------------
    async def _schema(self) -> dict[str, list[str]]:
        """Every table and its columns, as the database has them now."""
        names = [str(r[0]) for r in await self.db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        out: dict[str, list[str]] = {}
        for name in names:
            cols = await self.db.fetchall(f'PRAGMA table_info("{name}")')
            out[name] = [str(c[1]) for c in cols]
        return out

    async def schema(self) -> dict[str, list[str]]:
        return await self._schema()


def _community_statements(tables: dict[str, list[str]], keep_config: bool) -> Iterable[str]:
    for table, phase, sql in COMMUNITY_EXTERNAL_STATEMENTS:
        if table in tables and (phase == "wipe" or not keep_config):
            yield sql


async def _mark_stale(conn: aiosqlite.Connection, community_ids: Sequence[int]) -> None:
    """Make the next rescore_if_stale of these communities run."""
    await conn.executemany(
        "UPDATE rescore_state SET events_seen = -1 WHERE community_id = ?",
        [(c,) for c in community_ids])


async def _drop_orphans(conn: aiosqlite.Connection, account_ids: Sequence[int],
                        tables: dict[str, list[str]]) -> None:
    """Delete accounts nothing refers to any more. An opted-out account keeps its row (the
    opt-out must survive) but loses its names."""
    if not account_ids:
        return
    account_ids = await _without_actors(conn, account_ids)
    checks = []
    for table, columns in tables.items():
        if table == "accounts":
            continue
        checks += [f'EXISTS (SELECT 1 FROM "{table}" t WHERE t."{c}" = a.id)'
                   for c in columns if c in ACCOUNT_REF_COLUMNS
                   and (table, c) != ("events", "actor_id")]
    referenced = " OR ".join(checks) if checks else "0"
    for start in range(0, len(account_ids), 900):
        chunk = list(account_ids[start:start + 900])
        m = _marks(chunk)
        await conn.execute(
            f"DELETE FROM accounts WHERE id IN ({m}) AND opted_out = 0 AND id NOT IN "
            f"(SELECT a.id FROM accounts a WHERE a.id IN ({m}) AND ({referenced}))",
            (*chunk, *chunk))
        await conn.execute(
            f"UPDATE accounts SET display_name = NULL, handle = NULL WHERE id IN ({m}) "
            f"AND opted_out = 1 AND id NOT IN (SELECT a.id FROM accounts a WHERE a.id IN ({m}) "
            f"AND ({referenced}))", (*chunk, *chunk))


async def _without_actors(conn: aiosqlite.Connection, account_ids: Sequence[int]
                          ) -> list[int]:
    """The accounts that acted in no stored event. events.actor_id has no index (migration
    0010): one scan of events for all of them, not one per account."""
    await conn.execute("CREATE TEMP TABLE IF NOT EXISTS orphan_candidates "
                       "(id INTEGER PRIMARY KEY)")
    try:
        await conn.executemany("INSERT OR IGNORE INTO temp.orphan_candidates (id) VALUES (?)",
                               [(i,) for i in account_ids])
        acting = {int(r[0]) for r in await (await conn.execute(
            "SELECT DISTINCT actor_id FROM events "
            "WHERE actor_id IN temp.orphan_candidates")).fetchall()}
    finally:
        await conn.execute("DELETE FROM temp.orphan_candidates")
    return [i for i in account_ids if i not in acting]


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))
