"""Per-person-and-command and per-channel command cooldowns, so nobody can make the bot
spam a channel or spend the X budget, while nobody's second, different question (a
/klout, then a /leaderboard) is refused.

* per person and command: a token bucket. Each (person, command) holds up to
  `user_burst` commands and earns one back every `user_seconds`, so a member may ask
  twice at once, and a script asking every second is held to one answer per
  `user_seconds`;
* per channel: at most `channel_max` commands of anyone in `channel_window_seconds`
  (public spam by many people, or by one person cycling through commands).

Applied once, before dispatch (bot/app.py KloutApp.handle), for every platform the
config lists. Time comes from the request. A refused request costs no token and does
not extend the wait; the first refusal in a wait is answered (on Discord an ephemeral
message to a slash command), later ones are marked quiet so that adapters which may
stay silent (X mentions, Discord mentions) do not answer spam with spam.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass

from commands.types import Reply, Request

# Forget idle keys when the tables grow past this, so memory stays bounded.
_PRUNE_AT = 10_000


@dataclass(frozen=True, slots=True)
class CooldownRules:
    user_seconds: float = 3.0
    channel_window_seconds: float = 30.0
    channel_max: int = 8
    platforms: Collection[str] = ("discord", "twitter")
    user_burst: int = 2


class CommandLimiter:
    def __init__(self, rules: CooldownRules) -> None:
        self.rules = rules
        # (platform, person, command) -> (tokens left, as of when)
        self._buckets: dict[tuple[str, str, str], tuple[float, float]] = {}
        self._channel: dict[tuple[str, str, str], deque[float]] = {}
        # (scope, *key) -> when the wait we last answered about ends.
        self._warned: dict[tuple[str, ...], float] = {}

    def check(self, request: Request) -> Reply | None:
        """None when the request may run (and it is counted); else the refusal."""
        if request.platform not in self.rules.platforms:
            return None
        now = request.now.timestamp()
        user = (request.platform, request.author.external_id, request.command)
        channel = (request.platform, request.community, request.channel or "")
        tokens = self._tokens(user, now)
        wait, scope = self._user_wait(tokens), "user"
        if wait <= 0:
            wait, scope = self._channel_wait(channel, now), "channel"
        if wait > 0:
            key = (scope, *(user if scope == "user" else channel))
            quiet = self._warned.get(key, -math.inf) > now
            self._warned[key] = now + wait
            return Reply("errors/cooldown", {"seconds": max(1, math.ceil(wait)),
                                             "scope": scope},
                         ephemeral=True, tone="refusal", quiet=quiet)
        self._buckets[user] = (tokens - 1, now)
        self._channel.setdefault(channel, deque()).append(now)
        if len(self._buckets) + len(self._channel) > _PRUNE_AT:
            self._prune(now)
        return None

    def _tokens(self, user: tuple[str, str, str], now: float) -> float:
        burst = max(1, self.rules.user_burst)
        held = self._buckets.get(user)
        if held is None or self.rules.user_seconds <= 0:
            return float(burst)
        tokens, since = held
        return min(float(burst), tokens + max(0.0, now - since) / self.rules.user_seconds)

    def _user_wait(self, tokens: float) -> float:
        # A hair of tolerance: refills are float divisions of the elapsed time.
        return 0.0 if tokens >= 1 - 1e-9 else (1 - tokens) * self.rules.user_seconds

    def _channel_wait(self, channel: tuple[str, str, str], now: float) -> float:
        times = self._channel.get(channel)
        if not times:
            return 0.0
        window = self.rules.channel_window_seconds
        while times and times[0] <= now - window:
            times.popleft()
        if len(times) < self.rules.channel_max:
            return 0.0
        return times[len(times) - self.rules.channel_max] + window - now

    def _prune(self, now: float) -> None:
        # A bucket idle this long is full again: forgetting it changes nothing.
        refill = self.rules.user_seconds * max(1, self.rules.user_burst)
        self._buckets = {k: (t, at) for k, (t, at) in self._buckets.items()
                         if at > now - refill}
        horizon = now - self.rules.channel_window_seconds
        self._channel = {k: q for k, q in self._channel.items() if q and q[-1] > horizon}
        self._warned = {k: t for k, t in self._warned.items() if t > now}
