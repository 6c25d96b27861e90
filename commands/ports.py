"""What command handlers need from the runtime, as small protocols.

The bot implements these over storage and scoring; tests may use the real
implementation over a temporary SQLite file. Handlers never see SQL, Discord
or Twitter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from commands.privacy_types import NetworkScore, Privacy
from commands.types import Person

CardStatus = Literal["scored", "unscored", "unknown", "opted_out"]


@dataclass(frozen=True, slots=True)
class Contributor:
    name: str
    share: float


@dataclass(frozen=True, slots=True)
class ScoreCard:
    """Everything a /klout reply can show about one member of one community."""

    status: CardStatus
    name: str
    score: int = 0
    tier: str = ""
    change_week: int | None = None
    rank: int | None = None
    members: int = 0
    summary_key: str = "no_activity"
    trend: tuple[int, ...] = ()
    top_contributors: tuple[Contributor, ...] = ()
    counts_by_kind: dict[str, int] = field(default_factory=dict)
    components: dict[str, float] = field(default_factory=dict)
    model_version: str = ""
    source: Literal["observed", "public_metrics"] = "observed"
    # Set when the member linked accounts on other networks: the score above is then
    # the combination, and these are its parts (this network first).
    networks: tuple[NetworkScore, ...] = ()


@dataclass(frozen=True, slots=True)
class BoardLine:
    rank: int
    name: str
    score: int
    tier: str
    change: int | None


@dataclass(frozen=True, slots=True)
class BoardPage:
    lines: tuple[BoardLine, ...]
    page: int
    pages: int
    members: int
    period: Literal["week", "alltime"]


class Influence(Protocol):
    async def card(self, platform: str, community: str, person: Person,
                   now: datetime) -> ScoreCard: ...

    async def board(self, platform: str, community: str, page: int, now: datetime,
                    period: Literal["week", "alltime"]) -> BoardPage: ...


class Ports(Protocol):
    """The services handlers may use. Grows as capabilities land."""

    @property
    def influence(self) -> Influence: ...

    @property
    def bot_name(self) -> str: ...

    @property
    def privacy(self) -> Privacy: ...
