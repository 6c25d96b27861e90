"""/kloutadmin: server settings, for admins only (the router refuses everyone else).

Arguments arrive as words, whatever the platform: adapters turn their own option
types (a Discord channel picker, a role) into ids.

    show
    schedule CHANNEL WEEKDAY HH:MM TIMEZONE [TOP]     unschedule
    exclude channel|role|user ID                     include channel|role|user ID
    tier-role TIER ROLE                              tier-role TIER none
    cards on|off                                     (score cards as images)
    vouch USER        unvouch USER                   (trust seeds; `show` lists them)
    web on|off                                       (the public web leaderboard)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from commands.errors import UserError
from commands.ports import Ports
from commands.router import CommandSpec
from commands.types import Reply, Request

ExclusionKind = Literal["channel", "role", "user"]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SUBCOMMANDS = ("show", "schedule", "unschedule", "exclude", "include", "tier-role", "cards",
               "vouch", "unvouch", "web")
_ID = re.compile(r"^[\w.\-]{1,64}$")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
MAX_TOP = 50


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    channel: str
    weekday: str
    time: str
    timezone: str
    top: int


@dataclass(frozen=True, slots=True)
class SettingsView:
    """A community's settings as /kloutadmin show presents them."""

    schedule: ScheduleSpec | None
    excluded_channels: tuple[str, ...]
    excluded_roles: tuple[str, ...]
    excluded_users: tuple[str, ...]
    tier_roles: tuple[tuple[str, str], ...]  # (tier, role id), lowest tier first
    cards: bool = True  # score cards as images (where the platform shows them)
    # Members an admin vouched for (trust seeds of the scores), oldest vouch first.
    vouched_users: tuple[str, ...] = ()
    web: bool = False  # the public web leaderboard
    web_url: str = ""  # its address, when on
    web_served: bool = False  # whether this bot runs a web server at all ([web] enabled)


class CommunitySettings(Protocol):
    @property
    def tiers(self) -> tuple[str, ...]: ...

    async def view(self, platform: str, community: str) -> SettingsView: ...

    async def set_schedule(self, platform: str, community: str, schedule: ScheduleSpec | None,
                           now: datetime) -> None: ...

    async def set_excluded(self, platform: str, community: str, kind: ExclusionKind,
                           external_id: str, excluded: bool) -> bool: ...

    async def set_tier_role(self, platform: str, community: str, tier: str,
                            role_id: str | None) -> None: ...

    async def set_cards(self, platform: str, community: str, enabled: bool,
                        now: datetime) -> None: ...

    async def set_vouched(self, platform: str, community: str, external_id: str,
                          vouched: bool, now: datetime) -> bool: ...
    async def set_web(self, platform: str, community: str, enabled: bool,
                      now: datetime) -> None: ...


class AdminPorts(Ports, Protocol):
    """What the admin handlers need beyond the base ports."""

    @property
    def settings(self) -> CommunitySettings: ...


def _settings(ports: Ports) -> CommunitySettings:
    settings = getattr(ports, "settings", None)
    if settings is None:
        raise RuntimeError("this runtime provides no community settings port")
    return cast(AdminPorts, ports).settings


async def kloutadmin(request: Request, ports: Ports) -> Reply:
    settings = _settings(ports)
    sub = request.args[0].lower() if request.args else "show"
    args = request.args[1:]
    where = (request.platform, request.community)
    if sub == "show":
        change: dict[str, object] = {"action": "show"}
    elif sub == "schedule":
        schedule = _parse_schedule(args)
        await settings.set_schedule(*where, schedule, request.now)
        change = {"action": "schedule", "schedule": schedule}
    elif sub == "unschedule":
        await settings.set_schedule(*where, None, request.now)
        change = {"action": "unschedule"}
    elif sub in ("exclude", "include"):
        kind, external_id = _parse_exclusion(sub, args)
        changed = await settings.set_excluded(*where, kind, external_id, sub == "exclude")
        change = {"action": sub, "kind": kind, "id": external_id, "changed": changed}
    elif sub == "tier-role":
        tier, role_id = _parse_tier_role(args, settings.tiers)
        await settings.set_tier_role(*where, tier, role_id)
        change = {"action": "tier_role", "tier": tier, "role": role_id}
    elif sub in ("cards", "web"):
        if len(args) != 1 or args[0].lower() not in ("on", "off"):
            raise UserError("admin_usage", subcommands=list(SUBCOMMANDS))
        enabled = args[0].lower() == "on"
        setter = settings.set_cards if sub == "cards" else settings.set_web
        await setter(*where, enabled, request.now)
        change = {"action": sub, "enabled": enabled}
    elif sub in ("vouch", "unvouch"):
        if len(args) != 1:
            raise UserError("admin_usage", subcommands=list(SUBCOMMANDS))
        _check_id(args[0])
        changed = await settings.set_vouched(*where, args[0], sub == "vouch", request.now)
        change = {"action": sub, "id": args[0], "changed": changed}
    else:
        raise UserError("admin_usage", subcommands=list(SUBCOMMANDS))
    view = await settings.view(*where)
    return Reply("admin_settings", {"settings": view, "change": change,
                                    "community": request.community_name or "",
                                    "bot_name": ports.bot_name}, ephemeral=True)


def _parse_schedule(args: tuple[str, ...]) -> ScheduleSpec:
    if len(args) not in (4, 5):
        raise UserError("admin_usage", subcommands=list(SUBCOMMANDS))
    channel, weekday, time, timezone = args[0], args[1].lower()[:3], args[2], args[3]
    _check_id(channel)
    if args[1].lower() not in WEEKDAYS and not _is_weekday_name(args[1]):
        raise UserError("admin_bad_weekday", value=args[1][:16])
    match = _TIME.match(time)
    if match is None:
        raise UserError("admin_bad_time", value=time[:16])
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError("admin_bad_timezone", value=timezone[:40]) from None
    top = 10
    if len(args) == 5:
        if not (args[4].isdigit() and len(args[4]) <= 3 and 1 <= int(args[4]) <= MAX_TOP):
            raise UserError("admin_bad_top", value=args[4][:8], limit=MAX_TOP)
        top = int(args[4])
    hour, minute = int(match.group(1)), int(match.group(2))
    return ScheduleSpec(channel, weekday, f"{hour:02d}:{minute:02d}", timezone, top)


def _is_weekday_name(word: str) -> bool:
    full = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    return word.lower() in full


def _parse_exclusion(sub: str, args: tuple[str, ...]) -> tuple[ExclusionKind, str]:
    if len(args) != 2 or args[0].lower() not in ("channel", "role", "user"):
        raise UserError("admin_usage", subcommands=list(SUBCOMMANDS))
    _check_id(args[1])
    return cast(ExclusionKind, args[0].lower()), args[1]


def _parse_tier_role(args: tuple[str, ...], tiers: tuple[str, ...]) -> tuple[str, str | None]:
    if len(args) != 2:
        raise UserError("admin_usage", subcommands=list(SUBCOMMANDS))
    tier = args[0].lower()
    if tier not in tiers:
        raise UserError("admin_bad_tier", value=args[0][:32], tiers=list(tiers))
    if args[1].lower() in ("none", "off", "-"):
        return tier, None
    _check_id(args[1])
    return tier, args[1]


def _check_id(value: str) -> None:
    if not _ID.match(value):
        raise UserError("admin_bad_id", value=value[:32])


SPEC = CommandSpec("kloutadmin", kloutadmin, "Server settings (admins only).", admin=True)
