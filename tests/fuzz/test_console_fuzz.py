"""Hostile console lines, through the console adapter (exec_line, and stdin for some).

Every line gets a short, non-empty, printable answer and never a traceback or the
internal-error reply; posts, replies and reactions are each stored exactly once."""

from __future__ import annotations

import asyncio
import io
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.console import ConsoleAdapter
from bot.app import KloutApp
from bot.clock import FixedClock
from bot.config import Config
from scoring.kinds import Kind
from tests.fuzz.harness import (
    FAST,
    ErrorLog,
    assert_safe_reply,
    fuzz_pair,
    fuzz_session,
    hostile_text,
)

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PREFIXES = [
    "", "post ", "say ", "reply #", "reply #1 ", "react #", "react #1 ", "mention @",
    "/as ", "/community ", "/klout", "/klout @", "/klout @ana ", "/leaderboard ",
    "/leaderboard-preview", "/leaderboard-post", "/privacy ", "/privacy forget",
    "/privacy forget confirm ", "/privacy info", "/privacy export", "/link twitter ",
    "/link ", "/unlink ", "/kloutadmin ", "/kloutadmin schedule ",
    "/kloutadmin schedule board mon 09:00 ", "/kloutadmin exclude ", "/kloutadmin tier-role ",
    "/help", "/help ", "@KloutBot ", "@KloutBot what about @", "@KloutBot privacy ",
    "@KloutBot leaderboard ", "xbio ", "xbio ana_x ", "/rescore", "/", "#", "@",
]
LONG_LINES = ["x" * 2_001, "post " + "y" * 1_995, "/klout " + "@a " * 700, "\u00e9" * 2_001]
console_line = st.one_of(
    st.tuples(st.sampled_from(PREFIXES), hostile_text).map("".join),
    hostile_text,
    st.sampled_from(LONG_LINES),
)
PEOPLE = ["ana", "bo", "cy", "Dé", "e.f-g_h"]
activity_line = st.tuples(
    st.sampled_from(["post ", "say ", "mention @", "reply #", "react #"]),
    st.integers(0, 40).map(str), st.sampled_from([" ", ""]), hostile_text,
).map("".join)


class ConsoleSession:
    """One console bot for a whole hypothesis run."""

    def __init__(self, loop: asyncio.AbstractEventLoop, folder: Path) -> None:
        self.loop = loop
        self.app = KloutApp(Config(), clock=FixedClock(T0), db_path=folder / "fuzz.db")
        loop.run_until_complete(self.app.__aenter__())
        self.stdout = io.StringIO()
        self.adapter = ConsoleAdapter(self.app, user="ana", community="fuzz",
                                      stdin=io.StringIO(), stdout=self.stdout, prompt=False)
        # What the store must hold: message numbers, and (who, post) per reply/reaction.
        self.expected: dict[Kind, set[object]] = {
            Kind.MESSAGE: set(), Kind.REPLY: set(), Kind.REACTION: set()}

    def say(self, line: str) -> str:
        return self.loop.run_until_complete(self.adapter.exec_line(line))

    def stored(self) -> Counter[Kind]:
        async def count() -> Counter[Kind]:
            await self.app.writer.flush()
            rows = await self.app.store.db.fetchall(
                "SELECT e.kind, count(*) FROM events e JOIN communities c ON "
                "c.id = e.community_id WHERE c.external_id = 'fuzz' GROUP BY e.kind", ())
            return Counter({Kind(int(r[0])): int(r[1]) for r in rows})
        return self.loop.run_until_complete(count())

    def close(self) -> None:
        self.loop.run_until_complete(self.app.__aexit__(None, None, None))


@pytest.fixture
def session() -> Iterator[tuple[ConsoleSession, ErrorLog]]:
    with fuzz_session(ConsoleSession) as found:
        yield found


def _check_lines(session: tuple[ConsoleSession, ErrorLog], lines: list[str]) -> None:
    bot, errors = session
    for line in lines:
        reply = bot.say(line)
        assert_safe_reply(line, reply, pings_matter=False)
        assert errors.take() == [], line
    bot.adapter.user, bot.adapter.community = "ana", "fuzz"  # after /as, /community


test_any_console_line_gets_a_safe_answer, test_any_console_line_gets_a_safe_answer_deep = \
    fuzz_pair(_check_lines, lines=st.lists(console_line, min_size=1, max_size=6))


_POSTED = re.compile(r"^posted #(\d+)")
_REPLIED = re.compile(r"^replied to .*'s #\d+ \(your reply is #(\d+)\)$")
_ACTED = re.compile(r"^(replied|reacted) to .*'s #(\d+)")


def _check_counts(session: tuple[ConsoleSession, ErrorLog],
                  script: list[tuple[str, str]]) -> None:
    bot, errors = session
    last = bot.stored()[Kind.MESSAGE]
    for who, line in script:
        bot.adapter.user = who
        reply = bot.say(line)
        assert_safe_reply(line, reply, pings_matter=False)
        assert errors.take() == [], line
        numbered = _POSTED.match(reply) or _REPLIED.match(reply)
        if numbered:  # post numbers run on by one: nothing doubled, nothing skipped
            assert int(numbered.group(1)) == last + 1, (line, reply)
            last += 1
            bot.expected[Kind.MESSAGE].add(numbered.group(1))
        acted = _ACTED.match(reply)
        if acted:  # the same person acting twice on one post is one action (a replay)
            kind = Kind.REPLY if acted.group(1) == "replied" else Kind.REACTION
            bot.expected[kind].add((who.lower(), acted.group(2)))
    stored = bot.stored()
    for kind, keys in bot.expected.items():
        assert stored[kind] == len(keys), (kind, script)


test_every_post_reply_and_reaction_is_stored_once, \
    test_every_post_reply_and_reaction_is_stored_once_deep = fuzz_pair(
        _check_counts, script=st.lists(st.tuples(st.sampled_from(PEOPLE), activity_line),
                                       min_size=1, max_size=10))


@FAST
@given(lines=st.lists(console_line, min_size=1, max_size=4),
       encoding=st.sampled_from(["replace", "raw"]))
def test_stdin_bytes_of_any_kind_get_one_answer_per_line(
        session: tuple[ConsoleSession, ErrorLog], lines: list[str], encoding: str) -> None:
    """Through `run` and the bounded reader, as bytes on stdin, invalid UTF-8 included:
    "raw" writes lone surrogates as the (invalid) three bytes each would be."""
    bot, errors = session
    lines = [line.replace("\n", " ").replace("\r", " ").replace("\u2028", " ") for line in lines]
    lines = [line for line in lines if not line.lower().startswith(("/quit", "/exit"))]
    data = "\n".join(lines).encode("utf-8", "surrogatepass" if encoding == "raw" else encoding)
    out = io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO(data + b"\n\xff\xfe\n"), encoding="utf-8",
                             errors="surrogateescape")
    adapter = ConsoleAdapter(bot.app, user="ana", community="fuzz", stdin=stdin, stdout=out,
                             prompt=False)
    bot.loop.run_until_complete(adapter.run())
    printed = out.getvalue()
    assert "Traceback" not in printed and "Something went wrong" not in printed, printed
    assert printed.encode("utf-8")
    assert errors.take() == []
