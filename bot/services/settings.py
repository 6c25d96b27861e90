"""Community settings over storage: the CommunitySettings port of commands/admin.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.storage import Storage
from bot.storage.guild_settings import Schedule
from bot.storage.web import new_slug
from commands.admin import ExclusionKind, ScheduleSpec, SettingsView
from commands.errors import UserError
from scoring.config import ScoringConfig


class SettingsService:
    def __init__(self, store: Storage, config: ScoringConfig, *,
                 cards_by_default: bool = True, web_base_url: str | None = None) -> None:
        self.store = store
        self.cards_by_default = cards_by_default
        # Where the web leaderboard is reached; None: this bot serves none ([web] off).
        self.web_base_url = web_base_url
        # Lowest first, whatever order the config lists them in.
        self._tiers = tuple(t.name for t in sorted(config.tiers, key=lambda t: t.min_score))
        # Told the community id after each change (e.g. the score-card cache).
        self.listeners: list[Callable[[int], None]] = []

    def _changed(self, community_id: int) -> None:
        for listener in self.listeners:
            listener(community_id)

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
        community_id = await self._community_id(platform, community)
        return SettingsView(schedule, tuple(sorted(current.excluded_channels)),
                            tuple(sorted(current.excluded_roles)),
                            tuple(sorted(current.excluded_users)), tuple(roles),
                            cards=self.cards_on(current.cards), web=current.web,
                            web_url=self.web_url(current.web_slug) if current.web else "",
                            web_served=self.web_base_url is not None,
                            vouched_users=tuple(await self.store.vouches.vouched(community_id)))

    def web_url(self, slug: str | None) -> str:
        if slug is None or self.web_base_url is None:
            return ""
        return f"{self.web_base_url.rstrip('/')}/c/{slug}/"

    async def set_web(self, platform: str, community: str, enabled: bool,
                      now: datetime) -> None:
        community_id = await self._community_id(platform, community)
        await self.store.guild_settings.set_web(community_id, enabled, new_slug(),
                                                int(now.timestamp()))
        self._changed(community_id)

    def cards_on(self, stored: bool | None) -> bool:
        """Whether a community with this stored choice gets score-card images."""
        return self.cards_by_default if stored is None else stored

    async def set_cards(self, platform: str, community: str, enabled: bool,
                        now: datetime) -> None:
        community_id = await self._community_id(platform, community)
        await self.store.guild_settings.set_cards(community_id, enabled, int(now.timestamp()))
        self._changed(community_id)

    async def set_schedule(self, platform: str, community: str, schedule: ScheduleSpec | None,
                           now: datetime) -> None:
        stored = None if schedule is None else Schedule(
            schedule.channel, schedule.weekday, schedule.time, schedule.timezone, schedule.top)
        community_id = await self._community_id(platform, community)
        await self.store.guild_settings.set_schedule(community_id, stored, int(now.timestamp()))
        self._changed(community_id)

    async def set_excluded(self, platform: str, community: str, kind: ExclusionKind,
                           external_id: str, excluded: bool) -> bool:
        community_id = await self._community_id(platform, community)
        changed = await self.store.guild_settings.set_excluded(community_id, kind, external_id,
                                                               excluded)
        self._changed(community_id)
        return changed

    async def set_tier_role(self, platform: str, community: str, tier: str,
                            role_id: str | None) -> None:
        community_id = await self._community_id(platform, community)
        await self.store.guild_settings.set_tier_role(community_id, tier, role_id)
        self._changed(community_id)


    async def set_vouched(self, platform: str, community: str, external_id: str,
                          vouched: bool, now: datetime) -> bool:
        """Vouch for a member (a trust seed of the scores) or take it back; True when
        something changed. Nobody who opted out or was forgotten is stored."""
        community_id = await self._community_id(platform, community)
        if vouched:
            await self.store.privacy.ensure_loaded()
            if self.store.privacy.blocks(platform, external_id):
                raise UserError("admin_vouch_blocked", id=external_id)
            account_id = await self.store.accounts.ensure(platform, external_id)
            changed = await self.store.vouches.vouch(community_id, account_id,
                                                     int(now.timestamp()))
        else:
            account = await self.store.accounts.by_external(platform, external_id)
            changed = account is not None and await self.store.vouches.unvouch(
                community_id, account.id)
        self._changed(community_id)
        return changed
