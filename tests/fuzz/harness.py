"""Shared pieces of the input fuzz suite: hostile text, example budgets, and the
checks every reply must pass (no traceback, no internal error, short, printable).

Budgets: a few dozen examples per test by default (the whole fuzz suite adds well under
30 s); tests marked `slow` run KLOUT_FUZZ_SLOW_EXAMPLES (default 2000) each with
`pytest -m slow tests/fuzz`. KLOUT_FUZZ_EXAMPLES overrides the default budget.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.adapters.text_edge import clean_text
from commands.parse import clean

FAST_EXAMPLES = int(os.environ.get("KLOUT_FUZZ_EXAMPLES", "100"))
SLOW_EXAMPLES = int(os.environ.get("KLOUT_FUZZ_SLOW_EXAMPLES", "2000"))
_COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                              HealthCheck.data_too_large],
}
FAST = settings(max_examples=FAST_EXAMPLES, **_COMMON)
SLOW = settings(max_examples=SLOW_EXAMPLES, **_COMMON)
# End to end through a platform fake, an example costs a request or a poll: a tenth.
END_TO_END_FAST = settings(FAST, max_examples=max(5, FAST_EXAMPLES // 10))
END_TO_END_SLOW = settings(SLOW, max_examples=max(50, SLOW_EXAMPLES // 10))

INTERNAL = "Something went wrong"
# What would ping people if a platform read it as markup: @everyone/@here, <@id>, <@&role>.
PINGS = re.compile(r"@(everyone|here)\b|<@[!&]?\d+>", re.IGNORECASE)
REPLY_LIMIT = 4_000  # characters; the longest reply (a leaderboard) is far shorter

# Pieces that have broken text handling somewhere before: pings, mention markup,
# controls, bidi and zero-width characters, lone surrogates, templates, SQL, huge ids.
HOSTILE_BITS = [
    "@everyone", "@here", "<@123>", "<@!123>", "<@&456>", "<#789>", "@KloutBot", "@kloutbot",
    "\u202e", "\u200b", "\u2066", "\ufeff", "\x00", "\x1b[31m", "\r", "\t", "\u2028",
    "\ud800", "\udcff", "\udfff\ud800", "\ud83d\ude00", "\ufffd", "Z\u0301\u0301\u0301",
    "\U0001f4a5", "\ufb01", "\u0130", "ß", "%s", "%(x)s", "{}", "{{ 7*7 }}", "{% raw %}",
    "'; DROP TABLE events;--", "..", "/", "\\", "**", "`", "#1", "#0", "#-1",
    "#" + "9" * 30, "9" * 30, " " * 3, "\n", "https://x.com/a", "@" + "a" * 70,
]
hostile_text = st.lists(
    st.one_of(st.sampled_from(HOSTILE_BITS),
              st.text(st.characters(exclude_categories=[]), max_size=12)),
    max_size=6).map("".join)


def printable(text: str) -> bool:
    """Text a terminal, a log or SQLite takes as it is (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def assert_safe_reply(line: str, reply: str, *, limit: int = REPLY_LIMIT,
                      pings_matter: bool = True) -> None:
    """`pings_matter=False` for the console: a terminal has nothing to ping, and it shows
    names as typed (render.escape_name), so a refused "/as @everyone" is quoted back."""
    assert "Traceback" not in reply, reply
    assert INTERNAL not in reply, (line, reply)
    if clean(clean_text(line)).strip():
        assert reply.strip(), f"no answer to {line!r}"
    assert len(reply) <= limit, (line, len(reply))
    assert printable(reply), (line, reply)
    if pings_matter:
        assert not PINGS.search(reply), (line, reply)


class ErrorLog(logging.Handler):
    """Collects ERROR records: an expected refusal never logs one, a bug always does."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[str]:
        found = [r.getMessage() for r in self.records]
        self.records.clear()
        return found


@contextmanager
def error_log() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


@contextmanager
def private_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop for a whole hypothesis run: its examples share one bot, so each
    costs a command, not a start-up."""
    loop = asyncio.new_event_loop()
    try:
        yield loop
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


@contextmanager
def scratch_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="klout-fuzz-") as tmp:
        yield Path(tmp)


class Session(Protocol):
    def close(self) -> None: ...


S = TypeVar("S", bound=Session)


@contextmanager
def fuzz_session(factory: Callable[[asyncio.AbstractEventLoop, Path], S]
                 ) -> Iterator[tuple[S, ErrorLog]]:
    """A bot built by `factory(loop, folder)` for one hypothesis run, and the ERROR
    records logged meanwhile; closed afterwards."""
    with private_loop() as loop, scratch_dir() as folder, error_log() as errors:
        session = factory(loop, folder)
        try:
            yield session, errors
        finally:
            session.close()


def fuzz_pair(check: Callable[..., None], *, fast: settings = FAST, deep: settings = SLOW,
              **strategies: st.SearchStrategy[Any]) -> tuple[Any, Any]:
    """The same property twice: a quick run in every test run, and a deep one marked
    slow (`pytest -m slow`). Assign both to test_ names in the module."""
    quick = fast(given(**strategies)(check))
    thorough = pytest.mark.slow(deep(given(**strategies)(check)))
    return quick, thorough
