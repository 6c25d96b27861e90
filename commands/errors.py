"""The two tiers of failure: a UserError becomes a polite reply; anything else is a bug."""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """Something the asker can fix or should know. Rendered from templates/errors/<key>."""

    def __init__(self, key: str, **context: Any) -> None:
        super().__init__(key)
        self.key = key
        self.context = context

    @property
    def template(self) -> str:
        return f"errors/{self.key}"
