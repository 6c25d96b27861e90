"""Short-lived confirmation codes for commands that cannot be undone.

The first call of such a command answers with what it would do and a code; the
second call must repeat the code before the time runs out. The codes live only in
memory: a restart simply asks again. Time is a parameter.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from commands.privacy_types import ConfirmState

# No 0/O, 1/I/L: people read these codes off a screen and type them back.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
# Wrong guesses allowed before the code is void (31**6 codes make guessing hopeless anyway).
MAX_WRONG = 5


@dataclass(slots=True)
class _Pending:
    code: str
    expires: datetime
    wrong: int = 0


class Confirmations:
    def __init__(self, ttl: timedelta) -> None:
        self.ttl = ttl
        self._pending: dict[tuple[str, ...], _Pending] = {}

    def issue(self, purpose: str, key: tuple[str, ...], now: datetime) -> str:
        """A fresh code for (purpose, key); any earlier one is replaced."""
        self._prune(now)
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        self._pending[(purpose, *key)] = _Pending(code, now + self.ttl)
        return code

    def check(self, purpose: str, key: tuple[str, ...], code: str,
              now: datetime) -> ConfirmState:
        """'ok' consumes the code; 'wrong' keeps it (up to MAX_WRONG tries)."""
        full = (purpose, *key)
        pending = self._pending.get(full)
        if pending is None:
            return "missing"
        if now >= pending.expires:
            del self._pending[full]
            return "expired"
        typed = code.strip().upper().replace("-", "")
        if hmac.compare_digest(typed.encode(), pending.code.encode()):
            del self._pending[full]
            return "ok"
        pending.wrong += 1
        if pending.wrong >= MAX_WRONG:
            del self._pending[full]
        return "wrong"

    def _prune(self, now: datetime) -> None:
        for key in [k for k, p in self._pending.items() if now >= p.expires]:
            del self._pending[key]
