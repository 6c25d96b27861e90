"""Tier role rewards: after a rescore, give each member the role of their tier.

Only changes are sent (storage remembers which reward role the bot gave whom), so a
rescore of a big server costs a request per member whose tier moved, not per member.
Discord's refusals are logged once per role with their likely cause, never dropped
silently: the bot lacks Manage Roles, or the role sits at or above the bot's highest
role (Discord's hierarchy rule), or the role is managed by an integration.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord

from bot.adapters.discord_ingest import PLATFORM
from bot.adapters.discord_reply import describe_http_error

if TYPE_CHECKING:
    from bot.adapters.discord import DiscordAdapter

log = logging.getLogger(__name__)
MAX_CHANGES_PER_RUN = 500  # the rest waits for the next run, so one sync never hogs the API
REASON = "KloutBot tier reward"


@dataclass
class RoleSyncResult:
    granted: int = 0
    revoked: int = 0
    refused: int = 0
    pending: int = 0


class TierRoles:
    def __init__(self, adapter: DiscordAdapter) -> None:
        self.adapter = adapter
        self.app = adapter.app
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._again: set[int] = set()

    def schedule(self, guild_id: int) -> None:
        """Sync soon, in the background; a sync already running reruns once when done."""
        task = self._tasks.get(guild_id)
        if task is not None and not task.done():
            self._again.add(guild_id)
            return
        self._tasks[guild_id] = asyncio.get_running_loop().create_task(
            self._run(guild_id), name=f"tier-roles-{guild_id}")

    async def wait_idle(self, guild_id: int) -> None:
        while (task := self._tasks.get(guild_id)) is not None and not task.done():
            await task

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()

    async def _run(self, guild_id: int) -> None:
        while True:
            self._again.discard(guild_id)
            try:
                await self.sync(guild_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("tier roles in guild %s: sync failed; the next rescore retries",
                              guild_id)
            if guild_id not in self._again:
                return

    async def sync(self, guild_id: int) -> RoleSyncResult:
        result = RoleSyncResult()
        store = self.app.store
        community = await store.communities.get(PLATFORM, str(guild_id))
        if community is None:
            return result
        rewards = (await store.guild_settings.get(community.id)).tier_roles
        granted = await store.role_grants.granted(community.id)
        if not rewards and not granted:
            return result
        tier_for = self.app.config.scoring.model.tier_for
        changes: list[tuple[int, str, str | None, str | None]] = []
        scored = set()
        for account_id, user_id, score in await store.role_grants.tiers_now(community.id):
            scored.add(account_id)
            have = granted.get(account_id, ("", None))[1]
            want = rewards.get(tier_for(score))
            if want != have:
                changes.append((account_id, user_id, have, want))
        for account_id, (user_id, role_id) in granted.items():
            if account_id not in scored:  # opted out, or no longer scored
                changes.append((account_id, user_id, role_id, None))
        result.pending = max(0, len(changes) - MAX_CHANGES_PER_RUN)
        done: list[tuple[int, str]] = []
        dropped: list[int] = []
        refused_roles: set[str] = set()
        http = self.adapter.client.http
        try:
            for account_id, user_id, have, want in changes[:MAX_CHANGES_PER_RUN]:
                if (have in refused_roles) or (want in refused_roles):
                    result.refused += 1
                    continue
                role = have
                try:
                    if have is not None:
                        await http.remove_role(guild_id, int(user_id), int(have), reason=REASON)
                        result.revoked += 1
                    role = want
                    if want is not None:
                        await http.add_role(guild_id, int(user_id), int(want), reason=REASON)
                        result.granted += 1
                except discord.NotFound as exc:
                    if exc.code == 10007:  # the member left: nothing to hold the role
                        dropped.append(account_id)
                        continue
                    log.error("tier role %s in guild %s: %s; fix it with /kloutadmin tier-role",
                              role, guild_id, describe_http_error(exc))
                    refused_roles.add(str(role))
                    result.refused += 1
                    continue
                except discord.Forbidden as exc:
                    log.error("cannot give or take tier role %s in guild %s: %s (%s)", role,
                              guild_id, self._why_refused(guild_id, str(role)),
                              describe_http_error(exc))
                    refused_roles.add(str(role))
                    result.refused += 1
                    continue
                if want is None:
                    dropped.append(account_id)
                else:
                    done.append((account_id, want))
        finally:
            await store.role_grants.record(community.id, done, dropped)
        if result.granted or result.revoked or result.refused:
            log.info("tier roles in guild %s: %s given, %s taken, %s refused, %s left for "
                     "later", guild_id, result.granted, result.revoked, result.refused,
                     result.pending)
        return result

    def _why_refused(self, guild_id: int, role_id: str) -> str:
        guild = self.adapter.client.get_guild(guild_id)
        if guild is None:
            return "the bot is no longer in that server"
        me = guild.me
        role = guild.get_role(int(role_id)) if role_id.isdigit() else None
        if not me.guild_permissions.manage_roles:
            return "the bot lacks the Manage Roles permission"
        if role is None:
            return "the role no longer exists"
        if role.managed:
            return f"role {role.name!r} is managed by an integration"
        if role >= me.top_role:
            return (f"role {role.name!r} is not below the bot's highest role "
                    f"{me.top_role.name!r}; move the bot's role above it")
        return "Discord refused without saying why"
