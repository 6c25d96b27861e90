"""Per-user and per-channel command cooldowns, so nobody can make the bot spam a
channel or spend the X budget.

Applied once, before dispatch (bot/app.py KloutApp.handle), for every platform the
config lists. Time comes from the request. A refused request does not extend the
wait; the first refusal in a wait is answered, later ones are marked quiet so that
adapters which may stay silent (X mentions) do not answer spam with spam.
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


class CommandLimiter:
    def __init__(self, rules: CooldownRules) -> None:
        self.rules = rules
        self._user_last: dict[tuple[str, str], float] = {}
        self._channel: dict[tuple[str, str, str], deque[float]] = {}
        # (scope, *key) -> when the wait we last answered about ends.
        self._warned: dict[tuple[str, ...], float] = {}

    def check(self, request: Request) -> Reply | None:
        """None when the request may run (and it is counted); else the refusal."""
        if request.platform not in self.rules.platforms:
            return None
        now = request.now.timestamp()
        user = (request.platform, request.author.external_id)
        channel = (request.platform, request.community, request.channel or "")
        wait, scope = self._user_wait(user, now), "user"
        if wait <= 0:
            wait, scope = self._channel_wait(channel, now), "channel"
        if wait > 0:
            key = (scope, *(user if scope == "user" else channel))
            quiet = self._warned.get(key, -math.inf) > now
            self._warned[key] = now + wait
            return Reply("errors/cooldown", {"seconds": max(1, math.ceil(wait)),
                                             "scope": scope},
                         ephemeral=True, tone="refusal", quiet=quiet)
        self._user_last[user] = now
        self._channel.setdefault(channel, deque()).append(now)
        if len(self._user_last) + len(self._channel) > _PRUNE_AT:
            self._prune(now)
        return None

    def _user_wait(self, user: tuple[str, str], now: float) -> float:
        last = self._user_last.get(user)
        return 0.0 if last is None else last + self.rules.user_seconds - now

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
        horizon = now - max(self.rules.user_seconds, self.rules.channel_window_seconds)
        self._user_last = {k: t for k, t in self._user_last.items() if t > horizon}
        self._channel = {k: q for k, q in self._channel.items() if q and q[-1] > horizon}
        self._warned = {k: t for k, t in self._warned.items() if t > now}

