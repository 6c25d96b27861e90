"""How the bot checks that someone owns an account on another network.

The X adapter implements XVerifier over the X API (bot/adapters/x_verify.py) and
registers it with `app.privacy.use_verifier("twitter", verifier)`. StaticXVerifier is
the console's and the tests' stand-in: a table of accounts, bios and recent posts kept
in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class XIdentity:
    """An X account as the API reports it: its stable id and its current handle."""

    user_id: str
    handle: str


class VerifierUnavailable(Exception):
    """The network could not be asked (outage, rate limit, budget): no verdict either way."""


class XVerifier(Protocol):
    async def lookup(self, handle: str) -> XIdentity | None:
        """The account behind @handle (case-insensitive), or None if there is none
        (or it is suspended). Raise VerifierUnavailable on API failure; never return
        None for an outage."""
        ...

    async def bio_or_recent_post_contains(self, handle: str, code: str) -> bool:
        """True when the account's bio, or one of its recent posts that mentions the
        bot, contains `code` (case-insensitive). Never log `code`. Raise
        VerifierUnavailable when the network cannot be asked."""
        ...


@dataclass(slots=True)
class _Profile:
    identity: XIdentity
    bio: str = ""
    posts: list[str] = field(default_factory=list)


class StaticXVerifier:
    """An XVerifier over an in-memory table (console sessions and tests)."""

    def __init__(self) -> None:
        self._profiles: dict[str, _Profile] = {}
        self.lookups = 0

    def set_account(self, handle: str, user_id: str, bio: str = "") -> None:
        self._profiles[handle.lower()] = _Profile(XIdentity(user_id, handle), bio)

    def set_bio(self, handle: str, bio: str) -> None:
        profile = self._profiles.get(handle.lower())
        if profile is None:
            # A console user inventing an X account: its id is derived from the handle.
            self.set_account(handle, f"x-{handle.lower()}", bio)
        else:
            profile.bio = bio

    def add_post(self, handle: str, text: str) -> None:
        if handle.lower() not in self._profiles:
            self.set_account(handle, f"x-{handle.lower()}")
        self._profiles[handle.lower()].posts.append(text)

    async def lookup(self, handle: str) -> XIdentity | None:
        self.lookups += 1
        profile = self._profiles.get(handle.lower())
        return profile.identity if profile else None

    async def bio_or_recent_post_contains(self, handle: str, code: str) -> bool:
        profile = self._profiles.get(handle.lower())
        if profile is None:
            return False
        needle = code.lower()
        return needle in profile.bio.lower() or any(needle in p.lower() for p in profile.posts)
