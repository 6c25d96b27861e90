"""Community settings over storage: the CommunitySettings port of commands/admin.py."""

from __future__ import annotations

from datetime import datetime

from bot.storage import Storage
from bot.storage.guild_settings import Schedule
from commands.admin import ExclusionKind, ScheduleSpec, SettingsView
from scoring.config import ScoringConfig


class SettingsService:
    def __init__(self, store: Storage, config: ScoringConfig) -> None:
        self.store = store
        # Lowest first, whatever order the config lists them in.
        self._tiers = tuple(t.name for t in sorted(config.tiers, key=lambda t: t.min_score))

    @property
    def tiers(self) -> tuple[str, ...]:
        return self._tiers

    async def _community_id(self, platform: str, community: str) -> int:
        return (await self.store.communities.ensure(platform, community)).id

    async def view(self, platform: str, community: str) -> SettingsView:
        current = await self.store.guild_settings.get(
            await self._community_id(platform, community))
        s = current.schedule
        schedule = None if s is None else ScheduleSpec(s.channel, s.weekday, s.time,
                                                       s.timezone, s.top)
        order = {tier: i for i, tier in enumerate(self._tiers)}
        roles = sorted(current.tier_roles.items(), key=lambda kv: order.get(kv[0], len(order)))
        return SettingsView(schedule, tuple(sorted(current.excluded_channels)),
                            tuple(sorted(current.excluded_roles)),
                            tuple(sorted(current.excluded_users)), tuple(roles))

    async def set_schedule(self, platform: str, community: str, schedule: ScheduleSpec | None,
                           now: datetime) -> None:
        stored = None if schedule is None else Schedule(
            schedule.channel, schedule.weekday, schedule.time, schedule.timezone, schedule.top)
        await self.store.guild_settings.set_schedule(
            await self._community_id(platform, community), stored, int(now.timestamp()))

    async def set_excluded(self, platform: str, community: str, kind: ExclusionKind,
                           external_id: str, excluded: bool) -> bool:
        return await self.store.guild_settings.set_excluded(
            await self._community_id(platform, community), kind, external_id, excluded)

    async def set_tier_role(self, platform: str, community: str, tier: str,
                            role_id: str | None) -> None:
        await self.store.guild_settings.set_tier_role(
            await self._community_id(platform, community), tier, role_id)

