"""The one small interface every platform adapter implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from commands.types import Reply


class DeliveryError(Exception):
    """`Adapter.send` could not post. `retryable` says whether trying later may work
    (a rate limit or outage) or not (missing permission, unknown channel)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class AdapterFailed(Exception):
    """An adapter cannot go on (rejected credentials, an API host it cannot reach), said
    for the operator. `credentials` is true when only new credentials can help, so
    `klout-bot run` exits with a code a service manager can tell from a crash."""

    def __init__(self, message: str, *, credentials: bool = False) -> None:
        super().__init__(message)
        self.credentials = credentials


@runtime_checkable
class Adapter(Protocol):
    """A platform connection: receive until closed, send replies, close.

    Adapters translate platform objects into commands.types at the edge and
    hand them to the app; nothing platform-specific crosses that line.
    """

    name: str

    async def run(self) -> None:
        """Receive and handle events until the platform closes or `close` is called."""

    async def send(self, destination: str, reply: Reply) -> str | None:
        """Post `reply` to a channel (or timeline); returns the platform's message id."""

    async def close(self) -> None:
        """Stop receiving and release connections. Safe to call twice."""
