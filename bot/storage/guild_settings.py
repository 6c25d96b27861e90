"""Per-community settings (the weekly leaderboard schedule, exclusions, tier roles).

Reads are served from memory: the ingestion path asks "does this channel count?" for
every gateway event and must not wait on SQLite. Every write goes through this
repository, so the cache is always current within the process; `load_all` fills it
at startup.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal

from bot.storage.db import Database

ExclusionKind = Literal["channel", "role", "user"]
EXCLUSION_KINDS: tuple[ExclusionKind, ...] = ("channel", "role", "user")


@dataclass(frozen=True, slots=True)
class Schedule:
    """When and where the weekly leaderboard goes. weekday is mon..sun, time HH:MM local."""

    channel: str
    weekday: str = "mon"
    time: str = "09:00"
    timezone: str = "UTC"
    top: int = 10


@dataclass(frozen=True, slots=True)
class GuildSettings:
    community_id: int
    schedule: Schedule | None = None
    excluded_channels: frozenset[str] = frozenset()
    excluded_roles: frozenset[str] = frozenset()
    excluded_users: frozenset[str] = frozenset()
    # tier name -> role id
    tier_roles: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Score-card images on or off; None: never set, the operator's default applies.
    cards: bool | None = None
    # The public web leaderboard (bot/web/): off unless turned on; the slug is the
    # community's random part of the address, kept once made.
    web: bool = False
    web_slug: str | None = None

    def excluded(self, kind: ExclusionKind) -> frozenset[str]:
        return {"channel": self.excluded_channels, "role": self.excluded_roles,
                "user": self.excluded_users}[kind]


@dataclass(frozen=True, slots=True)
class ScheduledBoard:
    """A community with a weekly leaderboard, as the poster needs it."""

    community_id: int
    platform: str
    community: str  # the platform's id, e.g. the guild id
    schedule: Schedule


class GuildSettingsRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._by_id: dict[int, GuildSettings] = {}
        self._loaded = False

    async def load_all(self) -> None:
        """Read every community's settings into memory (small tables)."""
        found: dict[int, GuildSettings] = {}
        for row in await self.db.fetchall(
                "SELECT community_id, leaderboard_channel, leaderboard_weekday, "
                "leaderboard_time, leaderboard_timezone, leaderboard_top, cards_enabled, "
                "web_enabled, web_slug FROM guild_settings"):
            cards = None if row[6] is None else bool(row[6])
            found[int(row[0])] = GuildSettings(int(row[0]), _schedule(row), cards=cards,
                                               web=bool(row[7]), web_slug=row[8])
        for row in await self.db.fetchall(
                "SELECT community_id, kind, external_id FROM guild_exclusions"):
            cid, kind = int(row[0]), str(row[1])
            if kind not in EXCLUSION_KINDS:  # pragma: no cover - the table's CHECK forbids it
                continue
            current = found.get(cid, GuildSettings(cid))
            found[cid] = _with_exclusion(current, kind, str(row[2]), True)
        for row in await self.db.fetchall("SELECT community_id, tier, role_id FROM tier_roles"):
            cid = int(row[0])
            current = found.get(cid, GuildSettings(cid))
            roles = {**current.tier_roles, str(row[1]): str(row[2])}
            found[cid] = replace(current, tier_roles=MappingProxyType(roles))
        self._by_id = found
        self._loaded = True

    def peek(self, community_id: int) -> GuildSettings:
        """The cached settings (defaults when none were ever set). Never touches the disk."""
        found = self._by_id.get(community_id)
        if found is None:
            # Remembered, so the per-event path doesn't build a fresh default each time.
            found = self._by_id[community_id] = GuildSettings(community_id)
        return found

    async def get(self, community_id: int) -> GuildSettings:
        if not self._loaded:
            await self.load_all()
        return self.peek(community_id)

    async def set_schedule(self, community_id: int, schedule: Schedule | None,
                           updated_at: int) -> None:
        """Set (or with None, stop) the weekly leaderboard of a community."""
        s = schedule
        async with self.db.write() as conn:
            await conn.execute(
                "INSERT INTO guild_settings (community_id, leaderboard_channel, "
                "leaderboard_weekday, leaderboard_time, leaderboard_timezone, leaderboard_top, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (community_id) DO UPDATE "
                "SET leaderboard_channel = excluded.leaderboard_channel, "
                "leaderboard_weekday = excluded.leaderboard_weekday, "
                "leaderboard_time = excluded.leaderboard_time, "
                "leaderboard_timezone = excluded.leaderboard_timezone, "
                "leaderboard_top = excluded.leaderboard_top, updated_at = excluded.updated_at",
                (community_id, s.channel if s else None, s.weekday if s else "mon",
                 s.time if s else "09:00", s.timezone if s else "UTC", s.top if s else 10,
                 updated_at))
        current = await self.get(community_id)
        self._by_id[community_id] = replace(current, schedule=schedule)

    async def set_cards(self, community_id: int, enabled: bool, updated_at: int) -> None:
        """Turn score-card images on or off for a community."""
        async with self.db.write() as conn:
            await conn.execute(
                "INSERT INTO guild_settings (community_id, cards_enabled, updated_at) "
                "VALUES (?, ?, ?) ON CONFLICT (community_id) DO UPDATE "
                "SET cards_enabled = excluded.cards_enabled, updated_at = excluded.updated_at",
                (community_id, int(enabled), updated_at))
        current = await self.get(community_id)
        self._by_id[community_id] = replace(current, cards=enabled)

    async def set_web(self, community_id: int, enabled: bool, slug: str,
                      updated_at: int) -> str:
        """Turn the web leaderboard on or off; returns the community's slug, which is
        `slug` only the first time (an existing one is kept, so links stay valid)."""
        async with self.db.write() as conn:
            await conn.execute(
                "INSERT INTO guild_settings (community_id, web_enabled, web_slug, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (community_id) DO UPDATE "
                "SET web_enabled = excluded.web_enabled, "
                "web_slug = coalesce(guild_settings.web_slug, excluded.web_slug), "
                "updated_at = excluded.updated_at",
                (community_id, int(enabled), slug, updated_at))
            row = await (await conn.execute(
                "SELECT web_slug FROM guild_settings WHERE community_id = ?",
                (community_id,))).fetchone()
        kept = str(row[0]) if row is not None else slug
        current = await self.get(community_id)
        self._by_id[community_id] = replace(current, web=enabled, web_slug=kept)
        return kept

    async def set_excluded(self, community_id: int, kind: ExclusionKind, external_id: str,
                           excluded: bool) -> bool:
        """Exclude (or count again) one channel, role or user; True when something changed."""
        if kind not in EXCLUSION_KINDS:
            raise ValueError(f"unknown exclusion kind {kind!r}")
        current = await self.get(community_id)
        if (external_id in current.excluded(kind)) == excluded:
            return False
        async with self.db.write() as conn:
            if excluded:
                await conn.execute(
                    "INSERT OR IGNORE INTO guild_exclusions (community_id, kind, external_id) "
                    "VALUES (?, ?, ?)", (community_id, kind, external_id))
            else:
                await conn.execute(
                    "DELETE FROM guild_exclusions WHERE community_id = ? AND kind = ? "
                    "AND external_id = ?", (community_id, kind, external_id))
        self._by_id[community_id] = _with_exclusion(current, kind, external_id, excluded)
        return True

    async def set_tier_role(self, community_id: int, tier: str, role_id: str | None) -> None:
        """Reward `tier` with `role_id`; None removes the reward."""
        async with self.db.write() as conn:
            if role_id is None:
                await conn.execute("DELETE FROM tier_roles WHERE community_id = ? AND tier = ?",
                                   (community_id, tier))
            else:
                await conn.execute(
                    "INSERT INTO tier_roles (community_id, tier, role_id) VALUES (?, ?, ?) "
                    "ON CONFLICT (community_id, tier) DO UPDATE SET role_id = excluded.role_id",
                    (community_id, tier, role_id))
        current = await self.get(community_id)
        roles = dict(current.tier_roles)
        if role_id is None:
            roles.pop(tier, None)
        else:
            roles[tier] = role_id
        self._by_id[community_id] = replace(current, tier_roles=MappingProxyType(roles))

    async def schedules(self, platform: str | None = None) -> list[ScheduledBoard]:
        """Every community with a weekly leaderboard (optionally of one platform)."""
        rows = await self.db.fetchall(
            "SELECT g.community_id, c.platform, c.external_id, g.leaderboard_channel, "
            "g.leaderboard_weekday, g.leaderboard_time, g.leaderboard_timezone, "
            "g.leaderboard_top FROM guild_settings g JOIN communities c ON c.id = g.community_id "
            "WHERE g.leaderboard_channel IS NOT NULL AND c.removed_at IS NULL "
            "AND (? IS NULL OR c.platform = ?) ORDER BY g.community_id", (platform, platform))
        out = []
        for r in rows:
            schedule = Schedule(str(r[3]), str(r[4]), str(r[5]), str(r[6]), int(r[7]))
            out.append(ScheduledBoard(int(r[0]), str(r[1]), str(r[2]), schedule))
        return out


def _schedule(row: sqlite3.Row) -> Schedule | None:
    channel, weekday, time, timezone, top = row[1], row[2], row[3], row[4], row[5]
    if channel is None:
        return None
    return Schedule(str(channel), str(weekday), str(time), str(timezone), int(top))


def _with_exclusion(settings: GuildSettings, kind: ExclusionKind, external_id: str,
                    excluded: bool) -> GuildSettings:
    values = settings.excluded(kind)
    values = values | {external_id} if excluded else values - {external_id}
    if kind == "channel":
        return replace(settings, excluded_channels=values)
    if kind == "role":
        return replace(settings, excluded_roles=values)
    return replace(settings, excluded_users=values)
