"""Storing a batch when one item in it cannot be stored at all.

A value SQLite refuses (text with a lone surrogate, an integer past 64 bits) fails the
whole transaction, and a batch retried as it was fails forever: everything queued with
it, and after it, would never be stored. Such an item is dropped (and logged) instead;
the rest of its batch is stored. Any other failure (a lock, a full disk) keeps every
item not yet stored for the next attempt, as before.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

# What binding a bad value raises (UnicodeEncodeError is a ValueError); never a sign of
# a database problem, so retrying the same item cannot help.
UNSTORABLE = (ValueError, TypeError, OverflowError)


async def store_isolating(items: list[T], store: Callable[[list[T]], Awaitable[None]], *,
                          what: str, requeue: Callable[[list[T]], None]) -> int:
    """`store(items)`, splitting the batch in halves around unstorable items until each
    is alone and dropped. Returns how many items were stored. On any other error, the
    items not stored yet go to `requeue` (in their order) and the error propagates."""
    stored = 0
    pending = [items]
    while pending:
        part = pending.pop()
        try:
            await store(part)
        except UNSTORABLE as exc:
            if len(part) == 1:
                log.error("dropped one %s that cannot be stored (%s: %s); the rest of its "
                          "batch is stored", what, type(exc).__name__, exc)
                continue
            mid = len(part) // 2
            pending += [part[mid:], part[:mid]]
        except BaseException:
            requeue([*part, *itertools.chain.from_iterable(reversed(pending))])
            raise
        else:
            stored += len(part)
    return stored
