"""What the privacy, link and wipe handlers get from the runtime (see commands/ports.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from commands.types import Person

ConfirmState = Literal["ok", "missing", "expired", "wrong"]
LinkStatus = Literal[
    "linked",        # done
    "unavailable",   # no verifier for that network on this bot
    "no_pending",    # verify without a code issued first
    "expired",       # the code's time ran out
    "wrong_code",    # the code typed is not the one issued
    "not_found",     # no such account on that network
    "not_proven",    # the code is not in the bio or a recent post
    "taken",         # that account is linked to someone else
    "already",       # this person already has an account on that network linked
    "forgotten",     # the asker's own account is blocked from new data (opted out)
    "check_failed",  # the network could not be asked right now; the code stays valid
]


@dataclass(frozen=True, slots=True)
class NetworkScore:
    """One network's part of a combined score."""

    platform: str
    score: int | None
    handle: str | None = None


@dataclass(frozen=True, slots=True)
class Footprint:
    """How much is stored about someone (or a community), by what it is."""

    events_made: int = 0
    events_received: int = 0
    scores: int = 0
    history: int = 0
    memberships: int = 0
    links: int = 0
    accounts: int = 0
    communities: int = 0
    other: dict[str, int] = field(default_factory=dict)
    # After a delete: the rows are gone, but old copies of their pages are still in the
    # database file or its WAL because another connection reads an older snapshot; the
    # bot overwrites them once it ends (retrying in the background, and at each start).
    purge_pending: bool = False

    @property
    def total(self) -> int:
        return (self.events_made + self.events_received + self.scores + self.history
                + self.memberships + self.links + self.accounts + sum(self.other.values()))


@dataclass(frozen=True, slots=True)
class LinkCode:
    code: str
    platform: str
    handle: str
    minutes: int


@dataclass(frozen=True, slots=True)
class LinkOutcome:
    status: LinkStatus
    platform: str
    handle: str = ""


@dataclass(frozen=True, slots=True)
class Export:
    filename: str  # .json, or .json.gz when large
    data: bytes
    communities: int
    events: int


class Privacy(Protocol):
    @property
    def contact(self) -> str:
        """How people reach the operator (for exports on platforms without files)."""
        ...

    @property
    def confirm_minutes(self) -> int: ...

    async def opt_out(self, person: Person) -> bool: ...

    async def opt_in(self, person: Person) -> bool: ...

    async def footprint(self, person: Person) -> Footprint: ...

    async def forget(self, person: Person) -> Footprint: ...

    async def export(self, person: Person, now: datetime) -> Export: ...

    def issue_confirmation(self, purpose: str, key: tuple[str, ...], now: datetime) -> str: ...

    def check_confirmation(self, purpose: str, key: tuple[str, ...], code: str,
                           now: datetime) -> ConfirmState: ...

    async def start_link(self, person: Person, platform: str, handle: str,
                         now: datetime) -> LinkCode | LinkOutcome: ...

    async def verify_link(self, person: Person, platform: str, now: datetime,
                          code: str | None = None) -> LinkOutcome: ...

    async def unlink(self, person: Person, platform: str) -> str | None: ...

    async def community_footprint(self, platform: str, community: str) -> Footprint: ...

    async def wipe_community(self, platform: str, community: str) -> Footprint: ...
