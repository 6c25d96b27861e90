"""Requests per client address: a token bucket each, refilled with time.

A client may send `burst` requests at once, then one every 60/per_minute seconds.
Time comes in as a parameter (monotonic seconds), so tests move it by hand. Memory is
bounded: past `max_clients` addresses, the buckets that have refilled completely (they
would behave the same if recreated) are dropped, and if none has, the oldest half.
"""

from __future__ import annotations

import math

MAX_CLIENTS = 50_000


class RateLimiter:
    def __init__(self, per_minute: int, burst: int, *, max_clients: int = MAX_CLIENTS) -> None:
        self.rate = per_minute / 60.0  # tokens a second
        self.burst = float(burst)
        self.max_clients = max_clients
        # address -> (tokens left, when they were counted)
        self._buckets: dict[str, tuple[float, float]] = {}

    def check(self, client: str, now: float) -> float:
        """Take one request for `client`; 0 when allowed, else seconds until one is."""
        tokens, then = self._buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + max(0.0, now - then) * self.rate)
        if tokens >= 1.0:
            if client not in self._buckets and len(self._buckets) >= self.max_clients:
                self._prune(now)
            self._buckets[client] = (tokens - 1.0, now)
            return 0.0
        self._buckets[client] = (tokens, now)
        return (1.0 - tokens) / self.rate

    @staticmethod
    def retry_after(wait_s: float) -> str:
        """The Retry-After header: whole seconds, at least 1."""
        return str(max(1, math.ceil(wait_s)))

    def _prune(self, now: float) -> None:
        full_after = self.burst / self.rate
        kept = {c: b for c, b in self._buckets.items() if now - b[1] < full_after}
        if len(kept) >= self.max_clients:
            newest = sorted(kept.items(), key=lambda item: item[1][1])[len(kept) // 2:]
            kept = dict(newest)
        self._buckets = kept

    def __len__(self) -> int:
        return len(self._buckets)
