"""The kinds of action one member can take on another member's activity."""

from __future__ import annotations

from enum import IntEnum


class Kind(IntEnum):
    # Values are stored in databases and uint8 arrays: never renumber, only append.
    MESSAGE = 0
    REPLY = 1
    MENTION = 2
    REACTION = 3
    RETWEET = 4
    QUOTE = 5
    LIKE = 6
    FOLLOW = 7

    @property
    def label(self) -> str:
        """The lower-case name used in JSON, TOML and templates."""
        return self.name.lower()

    @property
    def plural(self) -> str:
        """"replies", "likes", ...: the summary keys and public-metrics names."""
        return "replies" if self is Kind.REPLY else f"{self.label}s"

    @classmethod
    def parse(cls, text: str) -> Kind:
        """`"Reply"` -> Kind.REPLY; anything else raises ValueError naming the valid kinds."""
        if isinstance(text, str):
            member = cls.__members__.get(text.strip().upper())
            if member is not None:
                return member
        raise ValueError(f"unknown kind {text!r}; valid kinds: {', '.join(KIND_NAMES)}")


KIND_NAMES: tuple[str, ...] = tuple(k.label for k in Kind)
