"""Platform-neutral request and reply types. Adapters translate to and from these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Person:
    """Someone on a platform, as the adapter saw them."""

    platform: str
    external_id: str
    display_name: str
    handle: str | None = None
    is_bot: bool = False
    # When the platform says the account was created (epoch seconds), if it says.
    created_at: int | None = None


@dataclass(frozen=True, slots=True)
class Request:
    """Who asked what, where, and when. `now` is always timezone-aware."""

    platform: str
    community: str
    author: Person
    command: str
    args: tuple[str, ...] = ()
    targets: tuple[Person, ...] = ()
    now: datetime = field(default_factory=lambda: _require_now())
    channel: str | None = None
    community_name: str | None = None
    is_admin: bool = False
    # Names that were mentioned but that the adapter could not resolve to a Person.
    unresolved: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("Request.now must be timezone-aware")


def _require_now() -> datetime:
    raise ValueError("Request.now is required: time is a parameter")


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    data: bytes
    content_type: str = "application/json"


@dataclass(frozen=True, slots=True)
class Pager:
    """Where a paginated reply stands, so adapters can draw previous/next buttons."""

    command: str
    page: int
    pages: int
    args: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reply:
    """A template to render and its context. Wording never lives in Python."""

    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    ephemeral: bool = False
    attachments: tuple[Attachment, ...] = ()
    pager: Pager | None = None
    tone: Literal["info", "error", "refusal"] = "info"
    # The adapter may drop this reply where silence is acceptable (an X mention, a text
    # message); interactive commands (a Discord slash command) still answer, ephemerally.
    quiet: bool = False
