"""Plain records the repositories return. No SQL types leak past storage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class Community:
    id: int
    platform: str
    external_id: str
    name: str | None


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    platform: str
    external_id: str
    handle: str | None
    display_name: str | None
    is_bot: bool
    followers: int | None
    listed: int | None
    opted_out: bool
    # When the platform says the account was created (epoch seconds), if known.
    created_at: int | None = None

    @property
    def label(self) -> str:
        return self.display_name or self.handle or self.external_id


class EventRow(NamedTuple):
    """One interaction to store. ts is epoch seconds (UTC); target_id 0 means none.

    A NamedTuple, not a dataclass: ingestion builds one per event (a frozen dataclass
    costs four times as much to build) and it is already the INSERT's parameter tuple.
    """

    community_id: int
    kind: int
    actor_id: int
    target_id: int
    ts: int
    channel: str = ""
    source: str = ""
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class ScoreRow:
    account_id: int
    score: int
    raw: float
    rank: int
    model_version: str
    computed_at: int


@dataclass(frozen=True, slots=True)
class BoardEntry:
    rank: int
    account_id: int
    name: str
    score: int
    previous: int | None

    @property
    def change(self) -> int | None:
        return None if self.previous is None else self.score - self.previous
