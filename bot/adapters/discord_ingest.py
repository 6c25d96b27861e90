"""Discord gateway payloads -> Activities (and removals). No discord.py objects, no text.

The adapter feeds this the raw MESSAGE_CREATE / MESSAGE_REACTION_* / MESSAGE_DELETE*
payloads (and backfill feeds it REST history, which has the same message shape).
Working on the payloads directly keeps ingestion at a few microseconds per event:
building a discord.py Message costs ~75 µs, more than everything here together.

What counts (see docs in README "Discord"):
- a guild message: MESSAGE by its author (source = the message id);
- a reply: REPLY from its author to the replied-to message's author;
- a mention: MENTION to each mentioned user (not @everyone, not roles; not the replied-to
  author, whom a reply pings anyway: the REPLY already counts that);
- a reaction: REACTION from the reacting user to the message's author (source = the
  reacted-to message), removed again when the reaction is removed;
- a deleted message takes its events (and the reactions on it) with it;
- edits are ignored: mentions added by editing don't count, so editing a message
  over and over can't farm mentions.
Never counted: DMs, the bot itself, other bots (their own messages are recorded as
inert MESSAGE events so the account stays flagged as a bot), excluded channels, roles
and users, webhooks and system messages, and actions on oneself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.adapters.text_edge import clean_optional, clean_text
from bot.ingest import Activity
from bot.storage.guild_settings import GuildSettings
from commands.types import Person
from scoring.kinds import Kind

PLATFORM = "discord"
DISCORD_EPOCH_MS = 1_420_070_400_000
_COUNTED_TYPES = frozenset({0, 19})  # default and reply; joins, pins, boosts are not talk
_PERSON_CACHE_LIMIT = 200_000
_ROLE_CACHE_LIMIT = 200_000

JSON = Mapping[str, Any]


def snowflake_time(snowflake: int | str) -> datetime:
    """When a Discord id (message, user, ...) was created."""
    return datetime.fromtimestamp(((int(snowflake) >> 22) + DISCORD_EPOCH_MS) / 1000, UTC)


def snowflake_seconds(snowflake: int | str) -> int | None:
    """When a Discord id was created, in whole epoch seconds (None if it is no id)."""
    try:
        value = int(snowflake)
    except (TypeError, ValueError):
        return None
    return ((value >> 22) + DISCORD_EPOCH_MS) // 1000 if value > 0 else None


def time_snowflake(when: datetime) -> int:
    """The smallest id created at `when` (for history windows)."""
    return max(0, int(when.timestamp() * 1000) - DISCORD_EPOCH_MS) << 22


def display_name(user: JSON, member: JSON | None) -> str:
    """What the server shows: nickname, else global display name, else username."""
    if member and member.get("nick"):
        return clean_text(str(member["nick"]))
    return clean_text(str(user.get("global_name") or user.get("username") or user.get("id")))


@dataclass(frozen=True, slots=True)
class Removal:
    """Events to forget: those of `source` (optionally one kind by one user)."""

    guild_id: str
    source: str
    kind: Kind | None = None
    actor_id: str | None = None


@dataclass(frozen=True, slots=True)
class PendingReply:
    """A reply whose target must be looked up (the gateway didn't include the original)."""

    activity_without_target: Activity
    referenced_id: str


class GatewayTranslator:
    """Stateless about storage; remembers people and roles it has seen to save work.

    `settings_for(guild_id)` returns the guild's cached settings (never waits);
    `parent_of(channel_id)` returns a thread's parent channel id, if known.
    """

    def __init__(self, bot_user_id: str, settings_for: Callable[[str], GuildSettings | None],
                 parent_of: Callable[[str], str | None] = lambda _c: None) -> None:
        self.bot_user_id = bot_user_id
        self.settings_for = settings_for
        self.parent_of = parent_of
        self.known_bots: set[str] = {bot_user_id}
        self._people: dict[tuple[Any, ...], Person] = {}
        # (guild, user) -> role ids last seen, to apply role exclusions to reply and
        # reaction targets, whose payloads carry no roles.
        self._roles: dict[tuple[str, str], frozenset[str]] = {}

    # -- people -------------------------------------------------------------------
    def person(self, user: JSON, member: JSON | None = None) -> Person:
        """A named Person (reused while nothing about them changes)."""
        uid = str(user["id"])
        nick = member.get("nick") if member else None
        bot = bool(user.get("bot"))
        key = (uid, nick, user.get("global_name"), user.get("username"), bot)
        found = self._people.get(key)
        if found is None:
            if len(self._people) >= _PERSON_CACHE_LIMIT:
                self._people.clear()
            # The id says when the account was created: tenure evidence for scoring.
            found = Person(PLATFORM, uid, display_name(user, member),
                           handle=clean_optional(user.get("username")), is_bot=bot,
                           created_at=snowflake_seconds(uid))
            self._people[key] = found
            if bot:
                self.known_bots.add(uid)
        return found

    def bare(self, user_id: str, handle: str | None = None) -> Person:
        """Someone known only by id (and maybe username): stores nothing new about them."""
        key = (user_id, handle)
        found = self._people.get(key)
        if found is None:
            if len(self._people) >= _PERSON_CACHE_LIMIT:
                self._people.clear()
            found = Person(PLATFORM, user_id, "", handle=clean_optional(handle),
                           created_at=snowflake_seconds(user_id))
            self._people[key] = found
        return found

    def _named_or_bare(self, user: JSON, member: JSON | None, is_bot: bool) -> Person:
        """Gateway messages carry the member (nickname); REST history doesn't, and then
        the server's name for them is unknown: store the username only, so a nickname
        seen live is never replaced by an older global name."""
        if member is not None or is_bot:
            return self.person(user, member)
        return self.bare(str(user["id"]), user.get("username"))

    def _note_roles(self, settings: GuildSettings | None, guild_id: str, user_id: str,
                    member: JSON | None) -> None:
        # Only guilds that exclude roles need them (most don't; this runs per event).
        if settings is not None and settings.excluded_roles and member is not None \
                and "roles" in member:
            if len(self._roles) >= _ROLE_CACHE_LIMIT:
                self._roles.clear()
            self._roles[(guild_id, user_id)] = frozenset(member["roles"])

    def _excluded(self, settings: GuildSettings | None, guild_id: str, user_id: str) -> bool:
        if user_id in self.known_bots:
            return True
        if settings is None:
            return False
        if user_id in settings.excluded_users:
            return True
        roles = settings.excluded_roles
        return bool(roles) and not roles.isdisjoint(self._roles.get((guild_id, user_id), ()))

    def channel_counts(self, settings: GuildSettings | None, channel_id: str) -> bool:
        if settings is None or not settings.excluded_channels:
            return True
        if channel_id in settings.excluded_channels:
            return False
        parent = self.parent_of(channel_id)
        return parent is None or parent not in settings.excluded_channels

    # -- messages -----------------------------------------------------------------
    def message(self, data: JSON, guild_id: str | None = None
                ) -> tuple[list[Activity], PendingReply | None]:
        """Activities of one message (gateway MESSAGE_CREATE or REST history).

        REST messages carry no guild_id; pass it. Returns the activities and, for a reply
        whose original the payload doesn't include, what to look up.
        """
        guild_id = guild_id or data.get("guild_id")
        if guild_id is None or data.get("webhook_id") is not None:
            return [], None
        if data.get("type", 0) not in _COUNTED_TYPES:
            return [], None
        author = data["author"]
        author_id = str(author["id"])
        if author_id == self.bot_user_id:
            return [], None
        guild_id = str(guild_id)
        channel_id = str(data["channel_id"])
        settings = self.settings_for(guild_id)
        if not self.channel_counts(settings, channel_id):
            return [], None
        member = data.get("member")
        self._note_roles(settings, guild_id, author_id, member)
        is_bot = bool(author.get("bot"))
        actor = self._named_or_bare(author, member, is_bot)
        message_id = str(data["id"])
        when = snowflake_time(message_id)
        message = Activity(PLATFORM, guild_id, actor, Kind.MESSAGE, when, None, channel_id,
                           message_id)
        if is_bot:
            # Inert (bots never count) but keeps the account flagged as a bot.
            return [message], None
        if self._excluded(settings, guild_id, author_id):
            return [], None
        out = [message]
        pending = None
        replied_to: str | None = None
        reference = data.get("message_reference")
        if reference is not None and data.get("type") == 19:
            original = data.get("referenced_message")
            if original is not None:
                target_user = original["author"]
                replied_to = str(target_user["id"])
                if target_user.get("bot"):
                    self.known_bots.add(replied_to)
                elif replied_to != author_id and not self._excluded(settings, guild_id,
                                                                      replied_to):
                    target = self.bare(replied_to, target_user.get("username"))
                    out.append(Activity(PLATFORM, guild_id, actor, Kind.REPLY, when, target,
                                        channel_id, message_id))
            elif reference.get("message_id") is not None:
                pending = PendingReply(
                    Activity(PLATFORM, guild_id, actor, Kind.REPLY, when, None, channel_id,
                             message_id), str(reference["message_id"]))
        for mentioned in data.get("mentions") or ():
            uid = str(mentioned["id"])
            if uid in (author_id, replied_to):
                continue
            if mentioned.get("bot"):
                self.known_bots.add(uid)
                continue
            mention_member = mentioned.get("member")
            self._note_roles(settings, guild_id, uid, mention_member)
            if self._excluded(settings, guild_id, uid):
                continue
            target = self._named_or_bare(mentioned, mention_member, False)
            out.append(Activity(PLATFORM, guild_id, actor, Kind.MENTION, when, target,
                                channel_id, message_id))
        return out, pending

    def reply_target(self, pending: PendingReply, author_external_id: str | None
                     ) -> Activity | None:
        """Complete a pending reply once its original's author is known (None: drop it)."""
        act = pending.activity_without_target
        if author_external_id is None or author_external_id == act.actor.external_id:
            return None
        settings = self.settings_for(act.community)
        if self._excluded(settings, act.community, author_external_id):
            return None
        return Activity(act.platform, act.community, act.actor, act.kind, act.when,
                        self.bare(author_external_id), act.channel, act.source, act.weight)

    # -- reactions and deletions --------------------------------------------------
    def reaction_add(self, data: JSON, now: datetime) -> Activity | None:
        guild_id = data.get("guild_id")
        if guild_id is None:
            return None
        guild_id = str(guild_id)
        user_id = str(data["user_id"])
        author_id = data.get("message_author_id")
        if author_id is None or str(author_id) == user_id:
            return None
        author_id = str(author_id)
        settings = self.settings_for(guild_id)
        channel_id = str(data["channel_id"])
        if not self.channel_counts(settings, channel_id):
            return None
        member = data.get("member")
        self._note_roles(settings, guild_id, user_id, member)
        if member is not None and member.get("user", {}).get("bot"):
            self.known_bots.add(user_id)
        if self._excluded(settings, guild_id, user_id) or self._excluded(
                settings, guild_id, author_id):
            return None
        actor = self.person(member["user"], member) if member and "user" in member \
            else self.bare(user_id)
        return Activity(PLATFORM, guild_id, actor, Kind.REACTION, now, self.bare(author_id),
                        channel_id, str(data["message_id"]))

    @staticmethod
    def reaction_remove(data: JSON) -> Removal | None:
        if data.get("guild_id") is None:
            return None
        return Removal(str(data["guild_id"]), str(data["message_id"]), Kind.REACTION,
                       str(data["user_id"]))

    @staticmethod
    def reactions_cleared(data: JSON) -> Removal | None:
        if data.get("guild_id") is None:
            return None
        return Removal(str(data["guild_id"]), str(data["message_id"]), Kind.REACTION)

    @staticmethod
    def deleted(data: JSON) -> list[Removal]:
        guild_id = data.get("guild_id")
        if guild_id is None:
            return []
        ids = data.get("ids") or [data["id"]]
        return [Removal(str(guild_id), str(i)) for i in ids]
