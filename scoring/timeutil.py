"""`now` arrives from outside (the caller's clock); this only converts it."""

from __future__ import annotations

import math
from datetime import datetime


def to_epoch(now: float | int | datetime) -> float:
    """Epoch seconds from a number or an aware datetime; naive datetimes are refused.

    A naive datetime is ambiguous by hours, which would shift every decay factor,
    so guessing a zone is worse than failing.
    """
    if isinstance(now, datetime):
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be timezone-aware (e.g. datetime.now(timezone.utc))")
        return now.timestamp()
    if isinstance(now, bool) or not isinstance(now, int | float):
        raise TypeError(f"now must be epoch seconds or an aware datetime, not {type(now).__name__}")
    value = float(now)
    if not math.isfinite(value):
        raise ValueError("now must be finite")
    return value
