"""The busy path of gateway ingestion: a common message or reaction straight to rows.

GatewayTranslator -> Activity -> Ingestor handles every case. This handles the common
one without the Activity and datetime objects in between, about twice as fast: a guild
message or reaction by and on people already stored exactly as they appear (consent
checked, see Ingestor.ready_id), in a guild that excludes no roles. Anything else (a
new or renamed person, a bot, a reply whose original must be looked up, a DM, role
exclusions) returns None and takes the full path, after which those people are ready
here too. The decisions themselves (who counts, which channel counts, who is who) are
the translator's: this only skips building what the full path would throw away.
tests/discord/test_fastlane.py checks that both paths write the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.adapters.discord_ingest import DISCORD_EPOCH_MS, PLATFORM, GatewayTranslator
from bot.ingest import Ingestor
from bot.storage.guild_settings import GuildSettings
from bot.storage.models import EventRow
from scoring.kinds import Kind

JSON = Mapping[str, Any]
_MESSAGE, _REPLY, _MENTION, _REACTION = (int(k) for k in (Kind.MESSAGE, Kind.REPLY,
                                                           Kind.MENTION, Kind.REACTION))
_NOBODY: frozenset[str] = frozenset()
_CACHE_LIMIT = 200_000


class FastLane:
    def __init__(self, translator: GatewayTranslator, ingestor: Ingestor,
                 settings_for: Callable[[str], GuildSettings | None], *,
                 enabled: bool = True) -> None:
        self.enabled = enabled
        self.translator = translator
        self.ingestor = ingestor
        self.settings_for = settings_for
        # Ingestor.ready_id answers by payload fields: tuples of strings hash in C, a
        # Person (a dataclass) in Python. Emptied whenever the ingestor's answers change.
        self._named: dict[tuple[Any, ...], int] = {}
        self._bare: dict[tuple[Any, ...], int] = {}
        self._version = -1
        self.hits = 0  # dispatches fully handled here

    def _fresh(self) -> None:
        ingestor = self.ingestor
        ingestor.fresh()
        if ingestor.ready_version != self._version or len(self._named) > _CACHE_LIMIT \
                or len(self._bare) > _CACHE_LIMIT:
            self._named.clear()
            self._bare.clear()
            self._version = ingestor.ready_version

    def _named_id(self, community_id: int, user: JSON, member: JSON) -> int | None:
        key = (community_id, user["id"], member.get("nick"), user.get("global_name"),
               user.get("username"))
        found = self._named.get(key)
        if found is None:
            found = self.ingestor.ready_id(community_id, self.translator.person(user, member))
            if found is not None:
                self._named[key] = found
        return found

    def _bare_id(self, community_id: int, user_id: str, handle: str | None) -> int | None:
        key = (community_id, user_id, handle)
        found = self._bare.get(key)
        if found is None:
            found = self.ingestor.ready_id(community_id, self.translator.bare(user_id, handle))
            if found is not None:
                self._bare[key] = found
        return found

    def _guild(self, guild_id: str) -> tuple[int, GuildSettings | None] | None:
        community_id = self.ingestor.community_id(PLATFORM, guild_id)
        if community_id is None:
            return None
        settings = self.settings_for(guild_id)
        if settings is not None and settings.excluded_roles:
            return None  # role exclusions need the role cache the full path keeps
        return community_id, settings

    def message(self, data: JSON) -> list[EventRow] | None:
        """The rows of a gateway MESSAGE_CREATE, or None: take the full path."""
        guild_id = data.get("guild_id")
        if guild_id is None or data.get("webhook_id") is not None or not self.enabled:
            return None
        message_type = data.get("type", 0)
        if message_type != 0 and message_type != 19:
            return None
        guild = self._guild(str(guild_id))
        if guild is None:
            return None
        community_id, settings = guild
        translator = self.translator
        channel_id = str(data["channel_id"])
        if not translator.channel_counts(settings, channel_id):
            return []
        author = data["author"]
        author_id = str(author["id"])
        bots = translator.known_bots
        excluded = settings.excluded_users if settings is not None else _NOBODY
        member = data.get("member")
        if author.get("bot") or author_id in bots or member is None:
            return None
        if author_id in excluded:
            return []
        self._fresh()
        actor_id = self._named_id(community_id, author, member)
        if actor_id is None:
            return None
        message_id = str(data["id"])
        ts = ((int(message_id) >> 22) + DISCORD_EPOCH_MS) // 1000
        rows = [EventRow(community_id, _MESSAGE, actor_id, 0, ts, channel_id, message_id, 1.0)]
        replied_to = None
        if message_type == 19 and data.get("message_reference") is not None:
            original = data.get("referenced_message")
            if original is None:
                return None
            target_user = original["author"]
            replied_to = str(target_user["id"])
            if target_user.get("bot"):
                return None
            if replied_to != author_id and replied_to not in bots \
                    and replied_to not in excluded:
                target_id = self._bare_id(community_id, replied_to, target_user.get("username"))
                if target_id is None:
                    return None
                rows.append(EventRow(community_id, _REPLY, actor_id, target_id, ts, channel_id,
                                     message_id, 1.0))
        for mentioned in data.get("mentions") or ():
            uid = str(mentioned["id"])
            if uid in (author_id, replied_to):
                continue
            if mentioned.get("bot"):
                return None
            if uid in bots or uid in excluded:
                continue
            mention_member = mentioned.get("member")
            target_id = (self._named_id(community_id, mentioned, mention_member)
                         if mention_member is not None
                         else self._bare_id(community_id, uid, mentioned.get("username")))
            if target_id is None:
                return None
            rows.append(EventRow(community_id, _MENTION, actor_id, target_id, ts, channel_id,
                                 message_id, 1.0))
        self.hits += 1
        return rows

    def reaction_add(self, data: JSON, now_ts: int) -> list[EventRow] | None:
        """The row of a gateway MESSAGE_REACTION_ADD (at `now_ts`), or None."""
        guild_id = data.get("guild_id")
        author_id = data.get("message_author_id")
        if guild_id is None or author_id is None or not self.enabled:
            return None
        user_id = str(data["user_id"])
        author_id = str(author_id)
        if author_id == user_id:
            return []
        guild = self._guild(str(guild_id))
        if guild is None:
            return None
        community_id, settings = guild
        translator = self.translator
        channel_id = str(data["channel_id"])
        if not translator.channel_counts(settings, channel_id):
            return []
        member = data.get("member")
        if member is None or "user" not in member or member["user"].get("bot"):
            return None
        bots = translator.known_bots
        excluded = settings.excluded_users if settings is not None else _NOBODY
        if user_id in bots or author_id in bots or user_id in excluded or author_id in excluded:
            return []
        self._fresh()
        actor_id = self._named_id(community_id, member["user"], member)
        if actor_id is None:
            return None
        target_id = self._bare_id(community_id, author_id, None)
        if target_id is None:
            return None
        self.hits += 1
        return [EventRow(community_id, _REACTION, actor_id, target_id, now_ts, channel_id,
                         str(data["message_id"]), 1.0)]
