"""A local fake of Discord (REST API + gateway) that the real discord.py client talks to.

Use it with :func:`bot.adapters.discord_endpoints.apply_endpoints`::

    async with FakeDiscord() as fake:
        guild = fake.add_guild("Klout HQ", members=["alice", "bob"])
        apply_endpoints(fake.api_base, fake.gateway_url)
        ...start a discord.Client with token=fake.token...
        await fake.send_message(guild.id, guild.channel_id, guild.member("alice"), content="hi")

It listens on 127.0.0.1 with an ephemeral port and never touches the network. Close the client
before the fake (else discord.py keeps reconnecting), pass ``chunk_guilds_at_startup=False`` and a
small ``guild_ready_timeout``, and override ``Client.before_identify_hook`` with a no-op if a test
re-IDENTIFYs: discord.py sleeps 5 s before every non-initial IDENTIFY.

Modelled (enough for discord.py 2.7 to behave as in production):

* Login (``/users/@me``, ``/oauth2/applications/@me``), ``/gateway`` and ``/gateway/bot``.
* Gateway: HELLO, heartbeat ACK, IDENTIFY -> READY (guilds unavailable) then one GUILD_CREATE per
  guild (``unavailable: false``), per-session sequence numbers, RESUME -> replay of every event
  after the client's ``seq`` then RESUMED, INVALID_SESSION for unknown sessions, READY's
  ``resume_gateway_url`` (a distinct ``/gateway/resume`` path, so tests can see it is honoured),
  sharding (guild events go to shard ``(guild_id >> 22) % num_shards``), REQUEST_GUILD_MEMBERS
  answered with one GUILD_MEMBERS_CHUNK. Plain uncompressed TEXT frames: discord.py asks for
  ``compress=zlib-stream`` but parses text frames as JSON.
* Intents: events are filtered by the identified intents; privileged intents not enabled "in the
  portal" (``privileged_intents=``) close the socket with 4014. Without MESSAGE_CONTENT, message
  ``content``/``embeds``/``attachments``/``components`` arrive empty unless the message is a DM,
  the bot's own, or mentions the bot. Without GUILD_PRESENCES, GUILD_CREATE ``members`` holds
  only the bot, as on Discord (the member cache stays cold).
* Messages: increasing snowflakes with matching timestamps, history with
  ``limit/before/after/around`` (newest first), mention parsing from content, replies
  (``message_reference`` + ``referenced_message``), attachments (multipart, served back at
  their ``url``), reactions. Messages the bot sends are echoed as MESSAGE_CREATE like Discord does.
* Interactions: slash commands (sub-commands, groups, resolved users/members/roles/channels),
  component clicks, callbacks 4/5/6/7/8/9 (a second callback gets 400 40060), ``with_response``,
  ``@original`` GET/PATCH/DELETE, follow-ups (the first follow-up after a defer replaces the
  "thinking" message), ephemeral messages kept out of the channel.
* Role changes honour MANAGE_ROLES and the role hierarchy (403 50013) and dispatch
  GUILD_MEMBER_UPDATE; application command bulk overwrite keeps ids stable per (type, name).
* Bot token checked on REST (401) and IDENTIFY (4004). Unknown routes: 404 ``{"message",
  "code": 0}``, logged in ``requests`` and ``unhandled``.
* Fault injection (:meth:`FakeDiscord.fail_next`): 429 with Discord's body and ``X-RateLimit-*``
  headers (plus ``Via``, without which discord.py treats a 429 as a Cloudflare ban), 403, 404,
  5xx (note: discord.py sleeps 1 s, 3 s, ... before retrying a 5xx).

Not modelled: real rate-limit buckets (no ``X-RateLimit-*`` on success), channel permission
overwrites (sending is never refused unless injected), threads, voice, presences, embeds
validation, zlib/zstd compression, ETF encoding, interaction token expiry and the 3 s
acknowledgement deadline, audit logs, the daily command-create limit, CDN assets.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import io
import json
import math
import re
import secrets
import time
import zlib
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self, TypeVar

from aiohttp import WSMsgType, web

JSON = dict[str, Any]
T = TypeVar("T")

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000
RESUME_BUFFER = 5_000
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
FAKE_TOKEN = "fake-token"


class Intents:
    """Gateway intent bits (https://discord.com/developers/docs/events/gateway#gateway-intents)."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    GUILD_MESSAGE_TYPING = 1 << 11
    DIRECT_MESSAGES = 1 << 12
    DIRECT_MESSAGE_REACTIONS = 1 << 13
    DIRECT_MESSAGE_TYPING = 1 << 14
    MESSAGE_CONTENT = 1 << 15
    PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT


class Perms:
    """Permission bits used by the fake."""

    ADMINISTRATOR = 1 << 3
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    USE_EXTERNAL_EMOJIS = 1 << 18
    MANAGE_ROLES = 1 << 28
    USE_APPLICATION_COMMANDS = 1 << 31
    ALL = (1 << 53) - 1
    EVERYONE = (
        VIEW_CHANNEL | SEND_MESSAGES | ADD_REACTIONS | READ_MESSAGE_HISTORY | EMBED_LINKS
        | ATTACH_FILES | USE_EXTERNAL_EMOJIS | USE_APPLICATION_COMMANDS
    )
    BOT_DEFAULT = EVERYONE | MANAGE_ROLES


# event -> (intent needed in a guild, intent needed in a DM); unlisted events always go out.
_EVENT_INTENTS: dict[str, tuple[int, int]] = {
    **dict.fromkeys(
        ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE", "GUILD_ROLE_CREATE",
         "GUILD_ROLE_UPDATE", "GUILD_ROLE_DELETE", "CHANNEL_CREATE", "CHANNEL_UPDATE",
         "CHANNEL_DELETE", "THREAD_CREATE", "THREAD_UPDATE", "THREAD_DELETE"),
        (Intents.GUILDS, 0),
    ),
    **dict.fromkeys(
        ("GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_REMOVE"),
        (Intents.GUILD_MEMBERS, 0),
    ),
    **dict.fromkeys(
        ("MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE", "MESSAGE_DELETE_BULK"),
        (Intents.GUILD_MESSAGES, Intents.DIRECT_MESSAGES),
    ),
    **dict.fromkeys(
        ("MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE", "MESSAGE_REACTION_REMOVE_ALL",
         "MESSAGE_REACTION_REMOVE_EMOJI"),
        (Intents.GUILD_MESSAGE_REACTIONS, Intents.DIRECT_MESSAGE_REACTIONS),
    ),
    "TYPING_START": (Intents.GUILD_MESSAGE_TYPING, Intents.DIRECT_MESSAGE_TYPING),
    "PRESENCE_UPDATE": (Intents.GUILD_PRESENCES, 0),
}
_GUILD_OBJECT_EVENTS = frozenset({"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"})
_CONTENT_FIELDS = ("content", "embeds", "attachments", "components")

_DEFAULT_ERRORS: dict[int, tuple[int, str]] = {
    400: (50035, "Invalid Form Body"),
    401: (0, "401: Unauthorized"),
    403: (50013, "Missing Permissions"),
    404: (10062, "Unknown interaction"),
    429: (0, "You are being rate limited."),
    500: (0, "500: Internal Server Error"),
    502: (0, "502: Bad Gateway"),
}


def snowflake_time(snowflake: int) -> str:
    """ISO-8601 (UTC) creation time encoded in a snowflake."""
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def _now_iso() -> str:
    return datetime.now(tz=UTC).isoformat()


def _template_regex(template: str) -> re.Pattern[str]:
    """``/channels/{channel_id}/messages`` or ``/channels/*/messages`` -> anchored regex."""
    parts = re.split(r"(\{\w+\}|\*)", template)
    out = []
    for part in parts:
        if part == "*":
            out.append(r"[^/]+")
        elif part.startswith("{") and part.endswith("}"):
            out.append(rf"(?P<{part[1:-1]}>[^/]+)")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out))


def _json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    # Exactly "application/json": discord.py's json_or_text ignores "...; charset=utf-8".
    body = json.dumps(data, separators=(",", ":")).encode()
    return web.Response(
        status=status, body=body, headers={**(headers or {}), "Content-Type": "application/json"}
    )


class ApiError(Exception):
    """Raised by route handlers; becomes a Discord-shaped JSON error."""

    def __init__(self, status: int, code: int, message: str, errors: JSON | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message, self.errors = status, code, message, errors

    def response(self) -> web.Response:
        body: JSON = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return _json_response(body, self.status)


@dataclass
class RecordedRequest:
    """One REST request as the fake received it."""

    method: str
    path: str  # without the /api/v10 prefix, e.g. "/channels/1/messages"
    query: dict[str, str]
    json: Any  # parsed JSON body, or the multipart ``payload_json``; None without a body
    files: list[JSON]  # multipart files: {"field", "filename", "content_type", "data"}
    headers: dict[str, str]
    status: int = 0  # what the fake answered


@dataclass
class FakeInteraction:
    """An interaction the fake sent, and everything the bot answered to it."""

    id: int
    token: str
    payload: JSON
    callbacks: list[JSON] = field(default_factory=list)  # {"type", "data", "files"}
    original: JSON | None = None  # the @original message
    followups: list[JSON] = field(default_factory=list)


@dataclass
class FakeGuild:
    """A guild's state; payloads are Discord-shaped dicts keyed by int id."""

    id: int
    name: str
    owner_id: int
    joined_at: str
    channels: dict[int, JSON] = field(default_factory=dict)
    roles: dict[int, JSON] = field(default_factory=dict)
    members: dict[int, JSON] = field(default_factory=dict)

    @property
    def channel_id(self) -> int:
        """The first text channel."""
        return next(cid for cid, c in self.channels.items() if c["type"] == 0)

    def member(self, name: str) -> JSON:
        """Look a member up by username."""
        return next(m for m in self.members.values() if m["user"]["username"] == name)

    def payload(self) -> JSON:
        return {
            "id": str(self.id), "name": self.name, "icon": None, "splash": None, "banner": None,
            "discovery_splash": None, "owner_id": str(self.owner_id), "description": None,
            "afk_channel_id": None, "afk_timeout": 300, "verification_level": 0,
            "default_message_notifications": 0, "explicit_content_filter": 0, "features": [],
            "mfa_level": 0, "nsfw_level": 0, "premium_tier": 0, "system_channel_id": None,
            "system_channel_flags": 0, "rules_channel_id": None, "preferred_locale": "en-US",
            "public_updates_channel_id": None, "safety_alerts_channel_id": None,
            "premium_progress_bar_enabled": False, "vanity_url_code": None, "max_members": 500000,
            "roles": list(self.roles.values()), "emojis": [], "stickers": [],
        }

    def gateway_payload(self) -> JSON:
        return {
            **self.payload(), "joined_at": self.joined_at, "large": False, "unavailable": False,
            "member_count": len(self.members), "voice_states": [], "presences": [],
            "members": list(self.members.values()), "channels": list(self.channels.values()),
            "threads": [], "stage_instances": [], "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }


@dataclass
class _Fault:
    method: str | None
    pattern: re.Pattern[str]
    status: int
    remaining: int
    retry_after: float
    code: int
    message: str
    is_global: bool

    def matches(self, method: str, path: str) -> bool:
        if self.method is None and self.pattern.fullmatch(f"{method} {path}"):
            return True
        return self.method in (None, method) and bool(self.pattern.fullmatch(path))


@dataclass
class _Session:
    id: str
    intents: int
    shard: tuple[int, int]
    ws: web.WebSocketResponse | None = None
    seq: int = 0
    buffer: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=RESUME_BUFFER))
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class _Snowflakes:
    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        now = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(now, self._last + 1)
        return self._last


Handler = Callable[[RecordedRequest, dict[str, str]], Awaitable[web.StreamResponse]]


class FakeDiscord:
    """Fake Discord server. See the module docstring for what it models."""

    def __init__(
        self,
        *,
        token: str = FAKE_TOKEN,
        bot_name: str = "KloutBot",
        privileged_intents: int = Intents.PRIVILEGED,
        heartbeat_interval_ms: int = 41_250,
        shard_count: int = 1,
    ) -> None:
        self.token = token
        self.privileged_intents = privileged_intents
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.shard_count = shard_count
        self._ids = _Snowflakes()
        self.users: dict[int, JSON] = {}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, JSON] = {}  # every channel, DMs included
        self.messages: dict[int, dict[int, JSON]] = {}  # channel id -> message id -> message
        self.commands: dict[int | None, list[JSON]] = {}  # guild id (None = global) -> commands
        self.interactions: dict[int, FakeInteraction] = {}
        self.requests: list[RecordedRequest] = []
        self.unhandled: list[RecordedRequest] = []
        self.gateway_frames: list[JSON] = []  # every frame clients sent (heartbeats included)
        self.connections: list[JSON] = []  # {"path", "query"} per gateway connection
        self.identifies: list[JSON] = []  # IDENTIFY payloads, appended once READY went out
        self.resumes: list[JSON] = []  # {"session_id", "seq", "replayed"} per RESUMED
        self.sessions: dict[str, _Session] = {}
        self.attachments: dict[str, tuple[str, bytes]] = {}
        # The CDN's avatars: every path asked, and how long each answer waits.
        self.avatar_requests: list[str] = []
        self.avatar_delay_s = 0.0
        self.application_id = self._ids.next()
        self.bot_user = self.make_user(bot_name, bot=True)
        self.owner = self.make_user("owner")
        self._faults: list[_Fault] = []
        self._reactors: dict[tuple[int, str], set[int]] = {}
        self._changed = asyncio.Event()
        self._sockets: set[web.WebSocketResponse] = set()
        self._server_closed: set[int] = set()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._routes = self._build_routes()

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application(client_max_size=ATTACHMENT_SIZE_LIMIT * 3)
        app.router.add_get("/gateway", self._handle_gateway)
        app.router.add_get("/gateway/resume", self._handle_gateway)
        app.router.add_get("/attachments/{key:.+}", self._handle_attachment)
        app.router.add_get("/avatars/{key:.+}", self._handle_avatar)
        app.router.add_get("/embed/avatars/{key:.+}", self._handle_avatar)
        app.router.add_route("*", "/{tail:.*}", self._handle_rest)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        """Close every gateway socket (1001) and stop the server."""
        for ws in list(self._sockets):
            self._server_closed.add(id(ws))
            await ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def http_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.http_base}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway/resume"

    @property
    def connected(self) -> int:
        """Number of sessions with a live gateway socket."""
        return sum(1 for s in self.sessions.values() if s.ws is not None)

    @property
    def application_flags(self) -> int:
        # GATEWAY_PRESENCE_LIMITED, GATEWAY_GUILD_MEMBERS_LIMITED, GATEWAY_MESSAGE_CONTENT_LIMITED
        p = self.privileged_intents
        return (
            (1 << 13 if p & Intents.GUILD_PRESENCES else 0)
            | (1 << 15 if p & Intents.GUILD_MEMBERS else 0)
            | (1 << 19 if p & Intents.MESSAGE_CONTENT else 0)
        )

    # ------------------------------------------------------------------ state builders

    def make_user(self, name: str, *, bot: bool = False, user_id: int | None = None) -> JSON:
        """Create (and remember) a user object."""
        uid = user_id or self._ids.next()
        user = {
            "id": str(uid), "username": name, "global_name": name[:1].upper() + name[1:],
            "discriminator": "0", "avatar": None, "banner": None, "accent_color": None,
            "avatar_decoration_data": None, "bot": bot, "system": False, "public_flags": 0,
            "flags": 0,
        }
        self.users[uid] = user
        return user

    def make_member(
        self,
        guild_id: int,
        user: JSON | str,
        *,
        roles: Iterable[JSON | int] = (),
        nick: str | None = None,
        joined_at: str | None = None,
    ) -> JSON:
        """Add a member to a guild; ``user`` is a user object or a new username."""
        if isinstance(user, str):
            user = self.make_user(user)
        member = {
            "user": user, "nick": nick, "avatar": None, "banner": None,
            "roles": [str(r["id"] if isinstance(r, Mapping) else r) for r in roles],
            "joined_at": joined_at or _now_iso(), "premium_since": None, "deaf": False,
            "mute": False, "pending": False, "flags": 0, "communication_disabled_until": None,
        }
        self.guilds[guild_id].members[int(user["id"])] = member
        return member

    def add_role(
        self, guild_id: int, name: str, *, permissions: int = 0, position: int | None = None,
        managed: bool = False, role_id: int | None = None,
    ) -> JSON:
        """Add a role. Default positions count up from 1; the bot's own role sits at 50."""
        guild = self.guilds[guild_id]
        if position is None:
            position = 1 + sum(1 for r in guild.roles.values() if 0 < r["position"] < 50)
        rid = role_id or self._ids.next()
        role = {
            "id": str(rid), "name": name, "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False, "icon": None, "unicode_emoji": None, "position": position,
            "permissions": str(permissions), "managed": managed, "mentionable": False, "flags": 0,
        }
        guild.roles[rid] = role
        return role

    def add_channel(
        self, guild_id: int | None, name: str, *, type: int = 0, recipient: JSON | None = None
    ) -> JSON:
        """Add a guild channel (type 0 text, 2 voice, 4 category) or, without guild, a DM."""
        cid = self._ids.next()
        if guild_id is None:
            channel: JSON = {
                "id": str(cid), "type": 1, "last_message_id": None, "flags": 0,
                "recipients": [recipient] if recipient else [],
            }
        else:
            guild = self.guilds[guild_id]
            channel = {
                "id": str(cid), "type": type, "guild_id": str(guild_id), "name": name,
                "position": len(guild.channels), "permission_overwrites": [], "nsfw": False,
                "parent_id": None, "topic": None, "rate_limit_per_user": 0,
                "last_message_id": None, "flags": 0,
            }
            if type == 2:
                channel.update(bitrate=64000, user_limit=0, rtc_region=None)
            guild.channels[cid] = channel
        self.channels[cid] = channel
        self.messages[cid] = {}
        return channel

    def open_dm(self, user: JSON | int) -> JSON:
        """The DM channel between the bot and ``user`` (created on first use)."""
        uid = int(user["id"]) if isinstance(user, Mapping) else user
        for channel in self.channels.values():
            if channel["type"] == 1 and any(int(r["id"]) == uid for r in channel["recipients"]):
                return channel
        return self.add_channel(None, "dm", recipient=self.users[uid])

    def add_guild(
        self,
        name: str = "Guild",
        *,
        channels: Sequence[str] = ("general",),
        members: Iterable[JSON | str] = (),
        bot_permissions: int = Perms.BOT_DEFAULT,
        everyone_permissions: int = Perms.EVERYONE,
        owner: JSON | None = None,
    ) -> FakeGuild:
        """Create a guild the bot is in: @everyone, the bot's managed role (position 50), the bot
        member, text channels and members (user objects or new usernames)."""
        gid = self._ids.next()
        owner = owner or self.owner
        guild = FakeGuild(id=gid, name=name, owner_id=int(owner["id"]), joined_at=_now_iso())
        self.guilds[gid] = guild
        self.add_role(gid, "@everyone", permissions=everyone_permissions, position=0, role_id=gid)
        bot_role = self.add_role(
            gid, self.bot_user["username"], permissions=bot_permissions, position=50, managed=True
        )
        bot_role["tags"] = {"bot_id": self.bot_user["id"]}
        self.make_member(gid, self.bot_user, roles=[bot_role])
        self.make_member(gid, owner)
        for channel_name in channels:
            self.add_channel(gid, channel_name)
        for member in members:
            self.make_member(gid, member)
        return guild

    def add_guilds(
        self, count: int, *, members_per_guild: int = 0, prefix: str = "guild"
    ) -> list[FakeGuild]:
        """Create ``count`` guilds quickly (benchmarks), each with its own members."""
        return [
            self.add_guild(
                f"{prefix}-{i}", members=[f"{prefix}{i}-user{j}" for j in range(members_per_guild)]
            )
            for i in range(count)
        ]

    def member_permissions(self, guild_id: int, user_id: int) -> int:
        """Guild-level permissions (owner and ADMINISTRATOR get everything; no overwrites)."""
        guild = self.guilds[guild_id]
        if user_id == guild.owner_id:
            return Perms.ALL
        perms = int(guild.roles[guild_id]["permissions"])
        for rid in guild.members[user_id]["roles"]:
            perms |= int(guild.roles[int(rid)]["permissions"])
        return Perms.ALL if perms & Perms.ADMINISTRATOR else perms

    def _top_role_position(self, guild: FakeGuild, user_id: int) -> int:
        roles = guild.members[user_id]["roles"]
        return max((guild.roles[int(r)]["position"] for r in roles), default=0)

    # ------------------------------------------------------------------ gateway events

    async def dispatch(self, event: str, data: JSON) -> int:
        """Send a DISPATCH to every live session (buffered for disconnected, resumable ones).

        Events are filtered by intents and shard as Discord would; returns how many sessions got it.
        """
        count = 0
        for session in list(self.sessions.values()):
            if self._wants(session, event, data):
                async with session.lock:
                    await self._push(session, event, self._shape_for(session, event, data))
                count += 1
        return count

    async def send_message(
        self,
        guild_id: int | None,
        channel_id: int,
        author: JSON | int,
        content: str = "",
        *,
        mentions: Iterable[JSON | int] | None = None,
        reference: JSON | int | None = None,
        embeds: Sequence[JSON] = (),
    ) -> JSON:
        """A user posts a message: store it and dispatch MESSAGE_CREATE.

        ``mentions`` defaults to the ``<@id>`` mentions in ``content``; ``reference`` (a message or
        id) makes it a reply. Whether the bot sees ``content`` depends on its intents (see top).
        """
        channel = self._channel(channel_id)
        if guild_id is not None and channel.get("guild_id") != str(guild_id):
            raise ValueError(f"channel {channel_id} is not in guild {guild_id}")
        message = self._new_message(
            channel_id, self._user_of(author), content=content, mentions=mentions,
            reference=reference, embeds=list(embeds),
        )
        await self._dispatch_message("MESSAGE_CREATE", message)
        return message

    async def edit_message(self, channel_id: int, message_id: int, content: str) -> JSON:
        """Edit a stored message and dispatch MESSAGE_UPDATE."""
        message = self._message(channel_id, message_id)
        message.update(content=content, edited_timestamp=_now_iso())
        message["mentions"] = self._mentions(channel_id, None, content)
        await self._dispatch_message("MESSAGE_UPDATE", message)
        return message

    async def delete_message(self, channel_id: int, message_id: int) -> None:
        """Delete a stored message and dispatch MESSAGE_DELETE."""
        self._message(channel_id, message_id)
        del self.messages[channel_id][message_id]
        await self.dispatch("MESSAGE_DELETE", self._with_guild(channel_id, {"id": str(message_id)}))

    async def add_reaction(
        self, channel_id: int, message_id: int, user: JSON | int, emoji: str = "\N{THUMBS UP SIGN}"
    ) -> JSON:
        """``user`` reacts: update the stored counts and dispatch MESSAGE_REACTION_ADD.

        ``emoji`` is a unicode emoji or ``name:id`` for a custom one.
        """
        uid = int(self._user_of(user)["id"])
        payload = self._react(channel_id, message_id, uid, emoji, add=True)
        await self.dispatch("MESSAGE_REACTION_ADD", payload)
        return payload

    async def remove_reaction(
        self, channel_id: int, message_id: int, user: JSON | int, emoji: str = "\N{THUMBS UP SIGN}"
    ) -> JSON:
        """``user`` removes a reaction: dispatch MESSAGE_REACTION_REMOVE."""
        uid = int(self._user_of(user)["id"])
        payload = self._react(channel_id, message_id, uid, emoji, add=False)
        await self.dispatch("MESSAGE_REACTION_REMOVE", payload)
        return payload

    async def guild_join(self, guild: FakeGuild) -> None:
        """The bot is added to ``guild`` while running: GUILD_CREATE without ``unavailable``."""
        payload = guild.gateway_payload()
        del payload["unavailable"]
        await self.dispatch("GUILD_CREATE", payload)

    async def remove_guild(self, guild_id: int, *, unavailable: bool = False) -> None:
        """GUILD_DELETE: the bot was removed (or, with ``unavailable``, an outage)."""
        payload: JSON = {"id": str(guild_id)}
        if unavailable:
            payload["unavailable"] = True
        else:
            guild = self.guilds.pop(guild_id)
            for cid in guild.channels:
                self.channels.pop(cid, None)
        await self.dispatch("GUILD_DELETE", payload)

    async def invoke_slash(
        self,
        guild_id: int | None,
        channel_id: int,
        member: JSON | int,
        name: str,
        options: Mapping[str, Any] | Sequence[JSON] | None = None,
        *,
        subcommand: str | Sequence[str] = (),
        resolved: JSON | None = None,
    ) -> FakeInteraction:
        """Dispatch INTERACTION_CREATE type 2 (slash command).

        ``options`` maps option names to values: str/int/float/bool, a user or member dict (type 6,
        resolved), a role dict (8) or a channel dict (7). A list is sent as raw options.
        ``subcommand`` is the path below ``name``: ``"show"`` or ``("group", "show")``.
        """
        path = [subcommand] if isinstance(subcommand, str) else list(subcommand)
        resolved = dict(resolved or {})
        if isinstance(options, Mapping):
            opts = [self._option(k, v, guild_id, resolved) for k, v in options.items()]
        else:
            opts = list(options or [])
        for depth, sub in reversed(list(enumerate(path))):
            is_group = depth < len(path) - 1
            opts = [{"name": sub, "type": 2 if is_group else 1, "options": opts}]
        registered = [
            c for c in self.commands.get(guild_id, []) + self.commands.get(None, [])
            if c["name"] == name and c.get("type", 1) == 1
        ]
        data: JSON = {
            "id": registered[0]["id"] if registered else str(self._ids.next()),
            "name": name, "type": 1, "options": opts,
        }
        if registered and registered[0].get("guild_id"):
            data["guild_id"] = registered[0]["guild_id"]
        if resolved:
            data["resolved"] = resolved
        return await self._interact(2, guild_id, channel_id, member, data)

    async def click_button(
        self,
        guild_id: int | None,
        channel_id: int,
        member: JSON | int,
        message_id: int,
        custom_id: str,
        *,
        component_type: int = 2,
        values: Sequence[str] | None = None,
    ) -> FakeInteraction:
        """Dispatch INTERACTION_CREATE type 3 for a component on a stored message
        (``component_type`` 2 = button, 3 = string select with ``values``)."""
        data: JSON = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = list(values)
        message = self._message(channel_id, message_id)
        return await self._interact(3, guild_id, channel_id, member, data, message=message)

    async def disconnect(self, code: int = 4000, *, resumable: bool = True) -> int:
        """Drop every gateway socket with ``code``. discord.py RESUMEs (to ``resume_gateway_url``);
        events dispatched meanwhile are buffered and replayed. With ``resumable=False`` the
        sessions are forgotten: RESUME gets INVALID_SESSION and the client IDENTIFYs again."""
        closed = 0
        for session in list(self.sessions.values()):
            async with session.lock:
                ws, session.ws = session.ws, None
            if not resumable:
                self.sessions.pop(session.id, None)
            if ws is not None and not ws.closed:
                self._server_closed.add(id(ws))
                await ws.close(code=code, message=b"fake disconnect")
                closed += 1
        return closed

    # ------------------------------------------------------------------ waiting and faults

    def fail_next(
        self,
        route: str | re.Pattern[str],
        status: int,
        count: int = 1,
        retry_after: float = 0.05,
        code: int | None = None,
        *,
        message: str | None = None,
        is_global: bool = False,
    ) -> None:
        """Answer the next ``count`` matching REST requests with an error instead of handling them.

        ``route`` is ``"[METHOD ]/path"`` where the path may use ``{name}`` or ``*`` for a segment
        (``"POST /channels/{channel_id}/messages"``), or a regex matched against ``"METHOD /path"``.
        Defaults: 429 rate limit (``retry_after`` seconds), 403 50013 Missing Permissions,
        404 10062 Unknown interaction, 500.
        """
        if isinstance(route, re.Pattern):
            method, pattern = None, route
        else:
            method, _, path = route.partition(" ") if " " in route else (None, "", route)
            pattern = _template_regex(path.strip())
        default_code, default_message = _DEFAULT_ERRORS.get(status, (0, f"{status}: Error"))
        self._faults.append(_Fault(
            method=method.upper() if method else None, pattern=pattern, status=status,
            remaining=count, retry_after=retry_after,
            code=default_code if code is None else code, message=message or default_message,
            is_global=is_global,
        ))

    async def wait_for_request(
        self,
        method: str | None,
        path_regex: str,
        timeout: float = 5.0,  # noqa: ASYNC109 - part of the helper's contract
        *,
        start: int = 0,
        where: Callable[[RecordedRequest], bool] | None = None,
    ) -> RecordedRequest:
        """First request in ``requests[start:]`` whose method matches (None = any) and whose path
        fully matches ``path_regex`` (and ``where``), waiting up to ``timeout`` seconds."""
        regex = re.compile(path_regex)

        def find() -> RecordedRequest | None:
            for rec in self.requests[start:]:
                if (
                    (method is None or rec.method == method.upper())
                    and regex.fullmatch(rec.path)
                    and (where is None or where(rec))
                ):
                    return rec
            return None

        return await self._wait(find, timeout, f"{method} {path_regex}")

    async def wait_for_identify(self, timeout: float = 5.0, *, count: int = 1) -> JSON:  # noqa: ASYNC109
        """The ``count``-th IDENTIFY payload, once its READY and GUILD_CREATEs were sent."""
        return await self._wait(
            lambda: self.identifies[count - 1] if len(self.identifies) >= count else None,
            timeout, f"IDENTIFY #{count}",
        )

    async def wait_for_resume(self, timeout: float = 5.0, *, count: int = 1) -> JSON:  # noqa: ASYNC109
        """The ``count``-th successful RESUME: ``{"session_id", "seq", "replayed"}``."""
        return await self._wait(
            lambda: self.resumes[count - 1] if len(self.resumes) >= count else None,
            timeout, f"RESUME #{count}",
        )

    def requests_for(self, method: str | None, path_regex: str) -> list[RecordedRequest]:
        regex = re.compile(path_regex)
        return [
            r for r in self.requests
            if (method is None or r.method == method.upper()) and regex.fullmatch(r.path)
        ]

    async def _wait(self, find: Callable[[], T | None], seconds: float, what: str) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (found := find()) is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [f"{r.method} {r.path} -> {r.status}" for r in self.requests[-10:]]
                raise TimeoutError(f"FakeDiscord: no {what} in {seconds}s; last requests: {seen}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return found

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ gateway internals

    async def _handle_gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        self._sockets.add(ws)
        self.connections.append({"path": request.path, "query": dict(request.query)})
        try:
            hello = {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["fake-discord"]}
            await self._send(ws, {"op": 10, "d": hello, "s": None, "t": None})
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                self.gateway_frames.append(frame)
                await self._on_frame(ws, frame)
                self._notify()
        finally:
            self._sockets.discard(ws)
            server_closed = id(ws) in self._server_closed
            self._server_closed.discard(id(ws))
            for session in list(self.sessions.values()):
                if session.ws is ws:
                    session.ws = None
                    if not server_closed and ws.close_code in (1000, 1001):
                        del self.sessions[session.id]  # a clean client close ends the session
            self._notify()
        return ws

    async def _on_frame(self, ws: web.WebSocketResponse, frame: JSON) -> None:
        op, d = frame.get("op"), frame.get("d") or {}
        if op == 1:
            await self._send(ws, {"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            await self._identify(ws, d)
        elif op == 6:
            await self._resume(ws, d)
        elif op == 8:
            await self._request_members(ws, d)
        # op 3 (presence) and 4 (voice state) are accepted and ignored.

    async def _identify(self, ws: web.WebSocketResponse, d: JSON) -> None:
        if d.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(d.get("intents", 0))
        if intents & Intents.PRIVILEGED & ~self.privileged_intents:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        shard_id, shard_count = d.get("shard") or [0, 1]
        session = _Session(id=secrets.token_hex(16), intents=intents, shard=(shard_id, shard_count))
        guilds = [g for g in self.guilds.values() if (g.id >> 22) % shard_count == shard_id]
        ready: JSON = {
            "v": 10, "user": self.bot_user, "session_type": "normal",
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id, "resume_gateway_url": self.resume_gateway_url,
            "application": {"id": str(self.application_id), "flags": self.application_flags},
            "private_channels": [], "relationships": [], "presences": [],
            "guild_join_requests": [], "geo_ordered_rtc_regions": [], "_trace": ["fake-discord"],
        }
        if "shard" in d:
            ready["shard"] = [shard_id, shard_count]
        async with session.lock:  # nothing else may reach this session before its READY
            session.ws = ws
            await self._push(session, "READY", ready)
            if intents & Intents.GUILDS:
                for guild in guilds:
                    payload = self._shape_for(session, "GUILD_CREATE", guild.gateway_payload())
                    await self._push(session, "GUILD_CREATE", payload)
        self.sessions[session.id] = session
        self.identifies.append(d)

    async def _resume(self, ws: web.WebSocketResponse, d: JSON) -> None:
        session = self.sessions.get(str(d.get("session_id")))
        seq = int(d.get("seq") or 0)
        if session is not None and session.buffer and seq < session.buffer[0][0] - 1:
            del self.sessions[session.id]  # too far behind: the missed events are gone
            session = None
        if session is None or d.get("token") != self.token:
            await self._send(ws, {"op": 9, "d": False, "s": None, "t": None})
            return
        async with session.lock:
            old, session.ws = session.ws, ws
            missed = [text for s, text in session.buffer if s > seq]
            for text in missed:
                await self._send(ws, text)
            await self._push(session, "RESUMED", {"_trace": ["fake-discord"]})
        if old is not None and old is not ws:
            self._server_closed.add(id(old))
            await old.close(code=4000)
        self.resumes.append({"session_id": session.id, "seq": seq, "replayed": len(missed)})

    async def _request_members(self, ws: web.WebSocketResponse, d: JSON) -> None:
        session = next((s for s in self.sessions.values() if s.ws is ws), None)
        guild = self.guilds.get(int(d.get("guild_id", 0)))
        if session is None or guild is None:
            return
        members = list(guild.members.values())
        if d.get("user_ids"):
            wanted = {str(u) for u in d["user_ids"]}
            members = [m for m in members if m["user"]["id"] in wanted]
        elif d.get("query"):
            members = [m for m in members if m["user"]["username"].startswith(d["query"])]
        if d.get("limit"):
            members = members[: int(d["limit"])]
        chunk: JSON = {
            "guild_id": str(guild.id), "members": members, "chunk_index": 0, "chunk_count": 1,
            "not_found": [], "nonce": d.get("nonce"),
        }
        async with session.lock:
            await self._push(session, "GUILD_MEMBERS_CHUNK", chunk)

    async def _push(self, session: _Session, event: str, data: JSON) -> None:
        """Sequence, buffer and (if connected) send one dispatch. Caller holds session.lock."""
        session.seq += 1
        text = json.dumps({"op": 0, "s": session.seq, "t": event, "d": data}, separators=(",", ":"))
        session.buffer.append((session.seq, text))  # serialised now: later edits don't leak in
        if session.ws is not None:
            await self._send(session.ws, text)

    @staticmethod
    async def _send(ws: web.WebSocketResponse, frame: JSON | str) -> None:
        if ws.closed:
            return
        text = frame if isinstance(frame, str) else json.dumps(frame, separators=(",", ":"))
        with contextlib.suppress(ConnectionResetError):  # dropped: the resume replays it
            await ws.send_str(text)

    def _event_guild(self, event: str, data: JSON) -> int | None:
        gid = data.get("guild_id") or (data.get("id") if event in _GUILD_OBJECT_EVENTS else None)
        return int(gid) if gid is not None else None

    def _wants(self, session: _Session, event: str, data: JSON) -> bool:
        gid = self._event_guild(event, data)
        shard_id, shard_count = session.shard
        if (0 if gid is None else (gid >> 22) % shard_count) != shard_id:
            return False
        guild_intent, dm_intent = _EVENT_INTENTS.get(event, (0, 0))
        needed = guild_intent if gid is not None else dm_intent
        if event == "GUILD_MEMBER_UPDATE" and data.get("user", {}).get("id") == self.bot_user["id"]:
            needed = 0  # updates to the bot's own member are always sent
        return not needed or bool(session.intents & needed)

    def _shape_for(self, session: _Session, event: str, data: JSON) -> JSON:
        """What this session receives: GUILD_CREATE members and message content vary by intents."""
        if event == "GUILD_CREATE" and not session.intents & Intents.GUILD_PRESENCES:
            bot_id = self.bot_user["id"]
            members = [m for m in data.get("members", []) if m["user"]["id"] == bot_id]
            return {**data, "members": members}
        if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
            return self._strip_content(session.intents, data)
        return data

    def _strip_content(self, intents: int, message: JSON) -> JSON:
        if intents & Intents.MESSAGE_CONTENT or "guild_id" not in message:
            return message
        bot_id = self.bot_user["id"]
        if message.get("author", {}).get("id") == bot_id:
            return message
        if any(m.get("id") == bot_id for m in message.get("mentions", [])):
            return message
        stripped = {**message, "content": "", "embeds": [], "attachments": [], "components": []}
        stripped.pop("poll", None)
        if stripped.get("referenced_message"):
            ref = {**stripped["referenced_message"], "guild_id": message["guild_id"]}
            ref = self._strip_content(intents, ref)
            ref.pop("guild_id")
            stripped["referenced_message"] = ref
        return stripped

    # ------------------------------------------------------------------ message helpers

    def _channel(self, channel_id: int) -> JSON:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise ApiError(404, 10003, "Unknown Channel") from None

    def _message(self, channel_id: int, message_id: int) -> JSON:
        self._channel(channel_id)
        try:
            return self.messages[channel_id][message_id]
        except KeyError:
            raise ApiError(404, 10008, "Unknown Message") from None

    def _guild(self, guild_id: int) -> FakeGuild:
        try:
            return self.guilds[guild_id]
        except KeyError:
            raise ApiError(404, 10004, "Unknown Guild") from None

    def _user_of(self, who: Mapping[str, Any] | int) -> JSON:
        if isinstance(who, Mapping):
            return dict(who["user"]) if "user" in who else dict(who)
        return self.users[who]

    def _member_of(self, guild_id: int | None, user_id: int) -> JSON | None:
        guild = self.guilds.get(guild_id) if guild_id is not None else None
        return guild.members.get(user_id) if guild else None

    def _with_guild(self, channel_id: int, data: JSON) -> JSON:
        data = {**data, "channel_id": str(channel_id)}
        guild_id = self.channels[channel_id].get("guild_id")
        if guild_id is not None:
            data["guild_id"] = guild_id
        return data

    def _mentions(
        self, channel_id: int, mentions: Iterable[JSON | int] | None, content: str
    ) -> list[JSON]:
        if mentions is None:
            ids = [int(i) for i in re.findall(r"<@!?(\d+)>", content)]
        else:
            ids = [int(self._user_of(m)["id"]) for m in mentions]
        guild_id = self.channels[channel_id].get("guild_id")
        out = []
        for uid in dict.fromkeys(ids):
            if uid not in self.users:
                continue
            mention = dict(self.users[uid])
            member = self._member_of(int(guild_id) if guild_id else None, uid)
            if member is not None:
                mention["member"] = {k: v for k, v in member.items() if k != "user"}
            out.append(mention)
        return out

    def _new_message(
        self,
        channel_id: int,
        author: JSON,
        *,
        content: str = "",
        mentions: Iterable[JSON | int] | None = None,
        reference: JSON | int | None = None,
        embeds: list[JSON] | None = None,
        components: list[JSON] | None = None,
        attachments: list[JSON] | None = None,
        flags: int = 0,
        extra: JSON | None = None,
        store: bool = True,
    ) -> JSON:
        mid = self._ids.next()
        message: JSON = {
            "id": str(mid), "channel_id": str(channel_id), "author": author, "content": content,
            "timestamp": snowflake_time(mid), "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mentions": self._mentions(channel_id, mentions, content),
            "mention_roles": re.findall(r"<@&(\d+)>", content), "attachments": attachments or [],
            "embeds": embeds or [], "pinned": False, "type": 0, "flags": flags,
            "components": components or [], **(extra or {}),
        }
        if reference is not None:
            ref_id = int(reference["id"] if isinstance(reference, Mapping) else reference)
            ref_msg = self.messages[channel_id].get(ref_id)
            message["type"] = 19
            message["message_reference"] = {
                "type": 0, "message_id": str(ref_id), "channel_id": str(channel_id),
                **({"guild_id": self.channels[channel_id]["guild_id"]}
                   if "guild_id" in self.channels[channel_id] else {}),
            }
            message["referenced_message"] = (
                {k: v for k, v in ref_msg.items() if k != "referenced_message"} if ref_msg else None
            )
        if store:
            self.messages[channel_id][mid] = message
            self.channels[channel_id]["last_message_id"] = str(mid)
        return message

    async def _dispatch_message(self, event: str, message: JSON) -> None:
        channel_id = int(message["channel_id"])
        data = self._with_guild(channel_id, message)
        if "guild_id" in data:
            member = self._member_of(int(data["guild_id"]), int(message["author"]["id"]))
            if member is not None and "webhook_id" not in message:
                data["member"] = {k: v for k, v in member.items() if k != "user"}
        await self.dispatch(event, data)

    def _react(
        self, channel_id: int, message_id: int, user_id: int, emoji: str, *, add: bool
    ) -> JSON:
        message = self._message(channel_id, message_id)
        name, _, emoji_id = emoji.partition(":")
        emoji_obj: JSON = {"id": emoji_id or None, "name": name}
        if emoji_id:
            emoji_obj["animated"] = False
        reactors = self._reactors.setdefault((message_id, emoji), set())
        (reactors.add if add else reactors.discard)(user_id)
        reactions = [r for r in message.get("reactions", []) if r["emoji"] != emoji_obj]
        if reactors:
            me = int(self.bot_user["id"]) in reactors
            reactions.append({
                "emoji": emoji_obj, "count": len(reactors), "me": me, "me_burst": False,
                "count_details": {"normal": len(reactors), "burst": 0}, "burst_colors": [],
            })
        message["reactions"] = reactions
        payload = self._with_guild(channel_id, {
            "user_id": str(user_id), "message_id": str(message_id), "emoji": emoji_obj,
            "burst": False, "type": 0,
        })
        if add:
            payload.update(message_author_id=message["author"]["id"], burst_colors=[])
            guild_id = payload.get("guild_id")
            member = self._member_of(int(guild_id) if guild_id else None, user_id)
            if member is not None:
                payload["member"] = member
        return payload

    # ------------------------------------------------------------------ interaction helpers

    def _option(self, name: str, value: Any, guild_id: int | None, resolved: JSON) -> JSON:
        if isinstance(value, bool):
            return {"name": name, "type": 5, "value": value}
        if isinstance(value, int):
            return {"name": name, "type": 4, "value": value}
        if isinstance(value, float):
            return {"name": name, "type": 10, "value": value}
        if isinstance(value, str):
            return {"name": name, "type": 3, "value": value}
        if isinstance(value, Mapping) and ("user" in value or "username" in value):
            user = self._user_of(value)
            resolved.setdefault("users", {})[user["id"]] = user
            member = self._member_of(guild_id, int(user["id"]))
            if member is not None and guild_id is not None:
                perms = self.member_permissions(guild_id, int(user["id"]))
                resolved.setdefault("members", {})[user["id"]] = {
                    **{k: v for k, v in member.items() if k != "user"}, "permissions": str(perms),
                }
            return {"name": name, "type": 6, "value": user["id"]}
        if isinstance(value, Mapping) and "type" in value:
            channel = {k: value[k] for k in ("id", "name", "type", "parent_id") if k in value}
            channel["permissions"] = str(Perms.ALL)
            resolved.setdefault("channels", {})[value["id"]] = channel
            return {"name": name, "type": 7, "value": value["id"]}
        if isinstance(value, Mapping) and "permissions" in value:
            resolved.setdefault("roles", {})[value["id"]] = dict(value)
            return {"name": name, "type": 8, "value": value["id"]}
        raise TypeError(f"cannot encode option {name}={value!r}")

    async def _interact(
        self,
        type_: int,
        guild_id: int | None,
        channel_id: int,
        invoker: JSON | int,
        data: JSON,
        message: JSON | None = None,
    ) -> FakeInteraction:
        iid = self._ids.next()
        token = f"fake-ix-{secrets.token_urlsafe(24)}"
        user = self._user_of(invoker)
        bot_id = int(self.bot_user["id"])
        payload: JSON = {
            "id": str(iid), "application_id": str(self.application_id), "type": type_,
            "data": data, "channel_id": str(channel_id), "channel": self._channel(channel_id),
            "token": token, "version": 1, "locale": "en-US", "entitlements": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if guild_id is not None:
            member = self._member_of(guild_id, int(user["id"]))
            if member is None:
                raise KeyError(f"user {user['id']} is not a member of guild {guild_id}")
            perms = self.member_permissions(guild_id, int(user["id"]))
            payload.update(
                guild_id=str(guild_id), guild_locale="en-US",
                guild={"id": str(guild_id), "locale": "en-US", "features": []},
                member={**member, "permissions": str(perms)},
                app_permissions=str(self.member_permissions(guild_id, bot_id)),
                authorizing_integration_owners={"0": str(guild_id)}, context=0,
            )
        else:
            payload.update(
                user=user, app_permissions=str(Perms.EVERYONE),
                authorizing_integration_owners={"1": user["id"]}, context=1,
            )
        if message is not None:
            payload["message"] = message
        interaction = FakeInteraction(id=iid, token=token, payload=payload)
        self.interactions[iid] = interaction
        await self.dispatch("INTERACTION_CREATE", payload)
        return interaction

    def _interaction_by_token(self, app_id: str, token: str) -> FakeInteraction:
        if app_id == str(self.application_id):
            for ix in self.interactions.values():
                if ix.token == token:
                    return ix
        raise ApiError(404, 10015, "Unknown Webhook")

    def _store_files(self, channel_id: int, files: list[JSON]) -> list[JSON]:
        out = []
        for f in files:
            aid = self._ids.next()
            key = f"{channel_id}/{aid}/{f['filename']}"
            self.attachments[key] = (f["content_type"] or "application/octet-stream", f["data"])
            url = f"{self.http_base}/attachments/{key}"
            out.append({
                "id": str(aid), "filename": f["filename"], "size": len(f["data"]), "url": url,
                "proxy_url": url, "content_type": f["content_type"],
            })
        return out

    def _bot_message(self, channel_id: int, body: JSON, files: list[JSON], *, flags: int = 0,
                     extra: JSON | None = None, store: bool = True) -> JSON:
        content = body.get("content") or ""
        if len(content) > 2000:
            raise ApiError(400, 50035, "Invalid Form Body", {"content": {"_errors": [{
                "code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]}})
        return self._new_message(
            channel_id, dict(self.bot_user), content=content, embeds=body.get("embeds"),
            components=body.get("components"), attachments=self._store_files(channel_id, files),
            flags=flags, extra=extra, store=store,
            reference=(body.get("message_reference") or {}).get("message_id"),
        )

    def _interaction_message(
        self, ix: FakeInteraction, body: JSON, files: list[JSON], flags: int
    ) -> JSON:
        channel_id = int(ix.payload["channel_id"])
        user = ix.payload.get("member", {}).get("user") or ix.payload.get("user")
        extra = {
            "webhook_id": str(self.application_id), "application_id": str(self.application_id),
            "interaction_metadata": {
                "id": str(ix.id), "type": ix.payload["type"], "user": user,
                "authorizing_integration_owners": ix.payload["authorizing_integration_owners"],
            },
        }
        message = self._bot_message(channel_id, body, files, flags=flags, extra=extra, store=False)
        if ix.payload["type"] == 2:
            message["type"] = 20
        return message

    async def _publish(self, message: JSON, event: str = "MESSAGE_CREATE") -> None:
        """Store and announce a non-ephemeral interaction message."""
        if message["flags"] & 64:
            return
        channel_id = int(message["channel_id"])
        self.messages[channel_id][int(message["id"])] = message
        await self._dispatch_message(event, message)

    def _apply_edit(self, message: JSON, body: JSON, files: list[JSON]) -> None:
        for key in ("content", "embeds", "components"):
            if key in body and body[key] is not None:
                message[key] = body[key]
        if files:
            message["attachments"] = self._store_files(int(message["channel_id"]), files)
        message["flags"] = message["flags"] & ~128
        message["edited_timestamp"] = _now_iso()
        message["mentions"] = self._mentions(int(message["channel_id"]), None, message["content"])

    # ------------------------------------------------------------------ REST plumbing

    def _build_routes(self) -> list[tuple[str, re.Pattern[str], Handler]]:
        table: list[tuple[str, str, Handler]] = [
            ("GET", "/users/@me", self._r_me),
            ("POST", "/users/@me/channels", self._r_create_dm),
            ("DELETE", "/users/@me/guilds/{guild_id}", self._r_leave_guild),
            ("GET", "/users/{user_id}", self._r_user),
            ("GET", "/oauth2/applications/@me", self._r_application),
            ("GET", "/applications/@me", self._r_application),
            ("GET", "/gateway", self._r_gateway),
            ("GET", "/gateway/bot", self._r_gateway_bot),
            ("GET", "/channels/{channel_id}", self._r_channel),
            ("GET", "/channels/{channel_id}/messages", self._r_history),
            ("POST", "/channels/{channel_id}/messages", self._r_create_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._r_get_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._r_edit_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._r_delete_message),
            ("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
             self._r_react),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
             self._r_react),
            ("POST", "/channels/{channel_id}/typing", self._r_no_content),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._r_callback),
            ("POST", "/webhooks/{app_id}/{token}", self._r_followup),
            ("GET", "/webhooks/{app_id}/{token}/messages/{message_id}", self._r_webhook_message),
            ("PATCH", "/webhooks/{app_id}/{token}/messages/{message_id}", self._r_webhook_message),
            ("DELETE", "/webhooks/{app_id}/{token}/messages/{message_id}", self._r_webhook_message),
            ("GET", "/guilds/{guild_id}", self._r_guild),
            ("GET", "/guilds/{guild_id}/channels", self._r_guild_channels),
            ("GET", "/guilds/{guild_id}/roles", self._r_guild_roles),
            ("GET", "/guilds/{guild_id}/members", self._r_members),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self._r_member),
            ("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self._r_member_role),
            ("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self._r_member_role),
            ("GET", "/applications/{app_id}/commands", self._r_commands),
            ("PUT", "/applications/{app_id}/commands", self._r_commands),
            ("GET", "/applications/{app_id}/guilds/{guild_id}/commands", self._r_commands),
            ("PUT", "/applications/{app_id}/guilds/{guild_id}/commands", self._r_commands),
        ]
        return [(method, _template_regex(path), handler) for method, path, handler in table]

    async def _handle_rest(self, request: web.Request) -> web.StreamResponse:
        body, files = await self._read_body(request)
        rec = RecordedRequest(
            method=request.method, path=request.path.removeprefix(API_PREFIX),
            query=dict(request.query), json=body, files=files, headers=dict(request.headers),
        )
        self.requests.append(rec)
        try:
            response = self._injected(rec) or await self._route(request, rec)
        except ApiError as exc:
            response = exc.response()
        rec.status = response.status
        self._notify()
        return response

    async def _route(self, request: web.Request, rec: RecordedRequest) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX + "/"):
            self.unhandled.append(rec)
            raise ApiError(404, 0, "404: Not Found")
        allowed = False
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(rec.path)
            if match is None:
                continue
            if method != rec.method:
                allowed = True
                continue
            public = rec.path.startswith(("/interactions/", "/webhooks/"))
            if not public and request.headers.get("Authorization") != f"Bot {self.token}":
                raise ApiError(401, 0, "401: Unauthorized")
            return await handler(rec, match.groupdict())
        self.unhandled.append(rec)
        if allowed:
            raise ApiError(405, 0, "405: Method Not Allowed")
        raise ApiError(404, 0, "404: Not Found")

    def _injected(self, rec: RecordedRequest) -> web.Response | None:
        fault = next((f for f in self._faults if f.matches(rec.method, rec.path)), None)
        if fault is None:
            return None
        fault.remaining -= 1
        if fault.remaining <= 0:
            self._faults.remove(fault)
        if fault.status != 429:
            return ApiError(fault.status, fault.code, fault.message).response()
        body: JSON = {
            "message": fault.message, "retry_after": fault.retry_after, "global": fault.is_global,
        }
        if fault.code:
            body["code"] = fault.code
        headers = {
            "Retry-After": str(max(1, math.ceil(fault.retry_after))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + fault.retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{fault.retry_after:.3f}",
            "X-RateLimit-Bucket": f"fake{zlib.crc32(fault.pattern.pattern.encode()):08x}",
            "X-RateLimit-Scope": "global" if fault.is_global else "user",
            "Via": "1.1 google",  # discord.py treats a 429 without Via as a Cloudflare ban
        }
        if fault.is_global:
            headers["X-RateLimit-Global"] = "true"
        return _json_response(body, 429, headers)

    @staticmethod
    async def _read_body(request: web.Request) -> tuple[Any, list[JSON]]:
        if not request.body_exists:
            return None, []
        if request.content_type.startswith("multipart/"):
            body: Any = None
            files: list[JSON] = []
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    files.append({
                        "field": name, "filename": value.filename,
                        "content_type": value.content_type, "data": value.file.read(),
                    })
                elif name == "payload_json":
                    body = json.loads(value)
            return body, files
        raw = await request.read()
        if not raw:
            return None, []
        try:
            return json.loads(raw), []
        except ValueError:
            return raw.decode(errors="replace"), []

    async def _handle_attachment(self, request: web.Request) -> web.Response:
        try:
            content_type, data = self.attachments[request.match_info["key"]]
        except KeyError:
            raise web.HTTPNotFound() from None
        return web.Response(body=data, headers={"Content-Type": content_type})

    async def _handle_avatar(self, request: web.Request) -> web.Response:
        """The CDN: a 128 px PNG in a colour of the path's own, for any avatar path."""
        self.avatar_requests.append(request.path_qs)
        if self.avatar_delay_s:
            await asyncio.sleep(self.avatar_delay_s)
        from PIL import Image  # only tests that show images need Pillow here

        shade = zlib.crc32(request.path.encode())
        picture = Image.new("RGB", (128, 128), (shade & 255, shade >> 8 & 255, shade >> 16 & 255))
        out = io.BytesIO()
        picture.save(out, "PNG")
        return web.Response(body=out.getvalue(), headers={"Content-Type": "image/png"})

    # ------------------------------------------------------------------ REST routes

    @staticmethod
    def _sf(value: str) -> int:
        if not value.isdigit():
            raise ApiError(400, 50035, "Invalid Form Body", {"_errors": [
                {"code": "NUMBER_TYPE_COERCE", "message": f"Value \"{value}\" is not snowflake."}]})
        return int(value)

    async def _r_no_content(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        self._channel(self._sf(p["channel_id"]))
        return web.Response(status=204)

    async def _r_me(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        me = {**self.bot_user, "verified": True, "mfa_enabled": False, "locale": "en-US"}
        return _json_response(me)

    async def _r_user(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        try:
            return _json_response(self.users[self._sf(p["user_id"])])
        except KeyError:
            raise ApiError(404, 10013, "Unknown User") from None

    async def _r_create_dm(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        uid = self._sf(str((rec.json or {}).get("recipient_id", "")))
        if uid not in self.users:
            raise ApiError(404, 10013, "Unknown User")
        return _json_response(self.open_dm(uid))

    async def _r_leave_guild(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        self._guild(self._sf(p["guild_id"]))
        await self.remove_guild(int(p["guild_id"]))
        return web.Response(status=204)

    async def _r_application(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        return _json_response({
            "id": str(self.application_id), "name": self.bot_user["username"], "icon": None,
            "description": "", "summary": "", "type": None, "bot_public": True,
            "bot_require_code_grant": False, "verify_key": "0" * 64,
            "flags": self.application_flags,
            "owner": self.owner, "team": None, "bot": self.bot_user, "redirect_uris": [],
            "interactions_endpoint_url": None, "approximate_guild_count": len(self.guilds),
        })

    async def _r_gateway(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        return _json_response({"url": self.gateway_url})

    async def _r_gateway_bot(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        return _json_response({
            "url": self.gateway_url, "shards": self.shard_count,
            "session_start_limit": {
                "total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1,
            },
        })

    async def _r_channel(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        return _json_response(self._channel(self._sf(p["channel_id"])))

    async def _r_history(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        channel_id = self._sf(p["channel_id"])
        self._channel(channel_id)
        limit = int(rec.query.get("limit", 50))
        if not 1 <= limit <= 100:
            raise ApiError(400, 50035, "Invalid Form Body")
        ids = sorted(self.messages[channel_id])
        if "around" in rec.query:
            start = bisect.bisect_left(ids, self._sf(rec.query["around"])) - limit // 2
            start = max(0, min(start, len(ids) - limit))
            chosen = ids[start : start + limit]
        elif "before" in rec.query:
            chosen = ids[: bisect.bisect_left(ids, self._sf(rec.query["before"]))][-limit:]
        elif "after" in rec.query:
            chosen = ids[bisect.bisect_right(ids, self._sf(rec.query["after"])) :][:limit]
        else:
            chosen = ids[-limit:]
        return _json_response([self._rest_message(channel_id, i) for i in reversed(chosen)])

    async def _r_create_message(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        channel_id = self._sf(p["channel_id"])
        self._channel(channel_id)
        body = rec.json or {}
        if not (body.get("content") or body.get("embeds") or rec.files or body.get("components")
                or body.get("sticker_ids") or body.get("poll")):
            raise ApiError(400, 50006, "Cannot send an empty message")
        reference = body.get("message_reference") or {}
        if reference.get("message_id") and reference.get("fail_if_not_exists", True):
            ref_channel = int(reference.get("channel_id") or channel_id)
            if self._sf(str(reference["message_id"])) not in self.messages.get(ref_channel, {}):
                raise ApiError(400, 50035, "Invalid Form Body", {"message_reference": {"_errors": [
                    {"code": "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "message": "Unknown message"}]}})
        message = self._bot_message(channel_id, body, rec.files, flags=int(body.get("flags") or 0))
        await self._dispatch_message("MESSAGE_CREATE", message)
        return _json_response(message)

    async def _r_get_message(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        channel_id, message_id = self._sf(p["channel_id"]), self._sf(p["message_id"])
        self._message(channel_id, message_id)
        return _json_response(self._rest_message(channel_id, message_id))

    def _rest_message(self, channel_id: int, message_id: int) -> JSON:
        """REST reads hide content too unless MESSAGE_CONTENT is enabled "in the portal"."""
        message = self._with_guild(channel_id, self.messages[channel_id][message_id])
        message = self._strip_content(self.privileged_intents, message)
        return {k: v for k, v in message.items() if k != "guild_id"}

    async def _r_edit_message(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        message = self._message(self._sf(p["channel_id"]), self._sf(p["message_id"]))
        if message["author"]["id"] != self.bot_user["id"]:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        self._apply_edit(message, rec.json or {}, rec.files)
        await self._dispatch_message("MESSAGE_UPDATE", message)
        return _json_response(message)

    async def _r_delete_message(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        await self.delete_message(self._sf(p["channel_id"]), self._sf(p["message_id"]))
        return web.Response(status=204)

    async def _r_react(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        channel_id, message_id = self._sf(p["channel_id"]), self._sf(p["message_id"])
        add = rec.method == "PUT"
        payload = self._react(channel_id, message_id, int(self.bot_user["id"]), p["emoji"], add=add)
        await self.dispatch("MESSAGE_REACTION_ADD" if add else "MESSAGE_REACTION_REMOVE", payload)
        return web.Response(status=204)

    async def _r_callback(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        ix = self.interactions.get(self._sf(p["interaction_id"]))
        if ix is None or ix.token != p["token"]:
            raise ApiError(404, 10062, "Unknown interaction")
        if ix.callbacks:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        body = rec.json or {}
        cb_type, data = int(body.get("type", 0)), body.get("data") or {}
        ix.callbacks.append({"type": cb_type, "data": data, "files": rec.files})
        message: JSON | None = None
        if cb_type in (4, 5):  # message / deferred "thinking" message
            flags = int(data.get("flags") or 0) | (128 if cb_type == 5 else 0)
            message = ix.original = self._interaction_message(ix, data, rec.files, flags)
            await self._publish(message)
        elif cb_type in (6, 7) and "message" in ix.payload:  # (deferred) update of the message
            channel_id = int(ix.payload["channel_id"])
            message = self._message(channel_id, int(ix.payload["message"]["id"]))
            ix.original = message
            if cb_type == 7:
                self._apply_edit(message, data, rec.files)
                await self._dispatch_message("MESSAGE_UPDATE", message)
        if rec.query.get("with_response", "").lower() not in ("1", "true"):
            return web.Response(status=204)
        flags = int(message["flags"]) if message else 0
        result: JSON = {"interaction": {
            "id": str(ix.id), "type": ix.payload["type"],
            "response_message_loading": cb_type == 5,
            "response_message_ephemeral": bool(flags & 64),
            **({"response_message_id": message["id"]} if message else {}),
        }}
        if message is not None and cb_type in (4, 5, 7):
            result["resource"] = {"type": cb_type, "message": message}
        return _json_response(result)

    async def _r_followup(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        ix = self._interaction_by_token(p["app_id"], p["token"])
        if not ix.callbacks:
            raise ApiError(404, 10015, "Unknown Webhook")
        body = rec.json or {}
        original = ix.original
        if original is not None and original["flags"] & 128:  # first follow-up after a defer
            self._apply_edit(original, body, rec.files)
            message = original
            await self._publish(message, "MESSAGE_UPDATE")
        else:
            flags = int(body.get("flags") or 0)
            message = self._interaction_message(ix, body, rec.files, flags)
            message["type"] = 0
            ix.followups.append(message)
            await self._publish(message)
        if rec.query.get("wait", "").lower() in ("1", "true"):
            return _json_response(message)
        return web.Response(status=204)

    async def _r_webhook_message(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        ix = self._interaction_by_token(p["app_id"], p["token"])
        if p["message_id"] == "@original":
            message = ix.original
        else:
            wanted = p["message_id"]
            candidates = [ix.original, *ix.followups]
            message = next((m for m in candidates if m and m["id"] == wanted), None)
        if message is None:
            raise ApiError(404, 10008, "Unknown Message")
        channel_id, mid = int(message["channel_id"]), int(message["id"])
        if rec.method == "PATCH":
            self._apply_edit(message, rec.json or {}, rec.files)
            if not message["flags"] & 64:
                await self._dispatch_message("MESSAGE_UPDATE", message)
        elif rec.method == "DELETE":
            if message is ix.original:
                ix.original = None
            else:
                ix.followups.remove(message)
            if mid in self.messages[channel_id]:
                await self.delete_message(channel_id, mid)
            return web.Response(status=204)
        return _json_response(message)

    async def _r_guild(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        guild = self._guild(self._sf(p["guild_id"]))
        payload = guild.payload()
        if rec.query.get("with_counts", "").lower() in ("1", "true"):
            payload["approximate_member_count"] = len(guild.members)
            payload["approximate_presence_count"] = 0
        return _json_response(payload)

    async def _r_guild_channels(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        return _json_response(list(self._guild(self._sf(p["guild_id"])).channels.values()))

    async def _r_guild_roles(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        return _json_response(list(self._guild(self._sf(p["guild_id"])).roles.values()))

    async def _r_members(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        guild = self._guild(self._sf(p["guild_id"]))
        if not self.privileged_intents & Intents.GUILD_MEMBERS:
            raise ApiError(403, 50001, "Missing Access")
        limit = int(rec.query.get("limit", 1))
        if not 1 <= limit <= 1000:
            raise ApiError(400, 50035, "Invalid Form Body")
        after = self._sf(rec.query.get("after", "0"))
        ids = sorted(uid for uid in guild.members if uid > after)[:limit]
        return _json_response([guild.members[uid] for uid in ids])

    async def _r_member(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        guild = self._guild(self._sf(p["guild_id"]))
        member = guild.members.get(self._sf(p["user_id"]))
        if member is None:
            raise ApiError(404, 10007, "Unknown Member")
        return _json_response(member)

    async def _r_member_role(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        guild = self._guild(self._sf(p["guild_id"]))
        uid, rid = self._sf(p["user_id"]), self._sf(p["role_id"])
        member = guild.members.get(uid)
        if member is None:
            raise ApiError(404, 10007, "Unknown Member")
        role = guild.roles.get(rid)
        if role is None:
            raise ApiError(404, 10011, "Unknown Role")
        bot_id = int(self.bot_user["id"])
        perms = self.member_permissions(guild.id, bot_id)
        top = self._top_role_position(guild, bot_id)
        too_high = bot_id != guild.owner_id and role["position"] >= top
        if not perms & Perms.MANAGE_ROLES or too_high or role["managed"] or rid == guild.id:
            raise ApiError(403, 50013, "Missing Permissions")
        roles = [r for r in member["roles"] if r != str(rid)]
        if rec.method == "PUT":
            roles.append(str(rid))
        if roles != member["roles"]:
            member["roles"] = roles
            await self.dispatch("GUILD_MEMBER_UPDATE", {**member, "guild_id": str(guild.id)})
        return web.Response(status=204)

    async def _r_commands(self, rec: RecordedRequest, p: dict[str, str]) -> web.Response:
        if p["app_id"] != str(self.application_id):
            raise ApiError(403, 50001, "Missing Access")
        guild_id = self._sf(p["guild_id"]) if "guild_id" in p else None
        if guild_id is not None:
            self._guild(guild_id)
        if rec.method == "GET":
            return _json_response(self.commands.get(guild_id, []))
        existing = {(c.get("type", 1), c["name"]): c for c in self.commands.get(guild_id, [])}
        stored = []
        for cmd in rec.json or []:
            old = existing.get((cmd.get("type", 1), cmd["name"]))
            stored.append({
                "description": "", "options": [], "default_member_permissions": None,
                "nsfw": False, "contexts": None, "integration_types": [0], **cmd,
                "type": cmd.get("type", 1), "application_id": str(self.application_id),
                "id": old["id"] if old else str(self._ids.next()), "version": str(self._ids.next()),
                **({"guild_id": str(guild_id)} if guild_id is not None else {}),
            })
        self.commands[guild_id] = stored
        return _json_response(stored)
