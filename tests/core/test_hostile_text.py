"""Text no step after the edge can store or print: invalid UTF-8 on the console's stdin,
lone surrogates from X's JSON or a caller. It is cleaned once where it enters (U+FFFD),
and ingestion survives a row that slips through anyway: that row is dropped and logged,
everything queued with it is stored, and later flushes work."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from bot.adapters.console import ConsoleAdapter
from bot.adapters.discord_ingest import display_name
from bot.adapters.text_edge import clean_json, clean_text
from bot.clock import FixedClock
from bot.ingest import Activity
from bot.storage import EventRow
from commands.types import Person
from scoring.kinds import Kind
from tests.core.helpers import T0, console_bot
from tests.privacy.helpers import confirm_code
from tests.twitter.helpers import T0 as X_T0
from tests.twitter.helpers import fake_x, x_bot

INTERNAL = "Something went wrong"


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_clean_text_replaces_lone_surrogates_and_joins_pairs() -> None:
    assert clean_text("ana") == "ana"
    assert clean_text("b\ud800o") == "b\ufffdo"
    assert clean_text("\udcff") == "\ufffd"
    assert clean_text("\ud83d\ude00") == "\N{GRINNING FACE}"  # a pair written as two
    assert clean_text("é\ude00\ud83d") == "é\ufffd\ufffd"  # the wrong order is no pair
    assert clean_json({"a\ud800": ["x\udcff", 3, None, {"b": "ok"}]}) == {
        "a\ufffd": ["x\ufffd", 3, None, {"b": "ok"}]}


async def test_invalid_utf8_in_a_confirmation_code_is_a_wrong_code(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Bytes on stdin as `klout-bot console` gets them (sys.stdin decodes with
    surrogateescape): 0xff used to reach hmac.compare_digest as '\\udcff' and raise."""
    raw = (b"post hi\n/privacy forget\n/privacy forget confirm \xff\n"
           b"/privacy forget confirm \xff\xfe\xfd\n")
    stdin = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", errors="surrogateescape")
    out = io.StringIO()
    async with console_bot(tmp_path / "c.db") as bot:
        adapter = ConsoleAdapter(bot.app, user="ana", community="test", stdin=stdin,
                                 stdout=out, prompt=False)
        await adapter.run()
        # The harness path (a str straight in) is cleaned the same way.
        direct = await bot.say("/privacy forget confirm \udcff\ud800")
    printed = out.getvalue()
    assert INTERNAL not in printed and INTERNAL not in direct, printed
    assert printed.count("isn't the code I gave you") == 2, printed
    assert "isn't the code I gave you" in direct
    assert errors(caplog) == []


async def test_x_mention_with_lone_surrogates_is_answered_not_an_internal_error(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Real tweepy reading FakeX's JSON, where "\\ud800" is a legal escape."""
    clock = FixedClock(X_T0)
    async with fake_x(clock) as fake:
        ana = fake.add_user("ana_x", name="Ana \ud800", followers_count=50)
        async with x_bot(tmp_path / "x.db", fake, clock) as bot:
            await bot.poll()
            ask = fake.post(ana, "@KloutBot privacy forget")
            await bot.poll()
            [asked] = bot.bot_replies(ask)
            assert confirm_code(asked.text)
            bad = fake.post(ana, "@KloutBot privacy forget confirm \udcff\ud800")
            await bot.poll()
            [reply] = bot.bot_replies(bad)
            assert "isn't the code" in reply.text, reply.text
            hello = fake.post(ana, "@KloutBot hi \udcff")
            await bot.poll()
            assert len(bot.bot_replies(hello)) == 1
            assert "\ud800" not in str(await bot.adapter.repo.get(bad.id))
    assert errors(caplog) == []


def test_discord_names_are_cleaned_at_translation() -> None:
    user = {"id": "1", "username": "an\ud800a", "global_name": "An\udcffa"}
    assert display_name(user, {"nick": "\ud800nick"}) == "\ufffdnick"
    assert display_name(user, None) == "An\ufffda"


def _act(name: str, source: str, channel: str = "console") -> Activity:
    return Activity("console", "test", Person("console", name.lower(), name), Kind.MESSAGE,
                    T0, None, channel, source)


async def test_one_unstorable_name_does_not_wedge_ingestion(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Defence in depth: an Activity built past the edge with a lone surrogate."""
    async with console_bot(tmp_path / "w.db") as bot:
        app = bot.app
        app.ingestor.submit([_act("ana", "1"), _act("b\ud800o", "2"), _act("cy", "3")])
        await app.writer.flush()  # raised, and every later flush raised again
        app.ingestor.submit([_act("di", "4")])
        await app.writer.flush()
        comm = await app.store.communities.ensure("console", "test")
        assert await app.store.events.count(comm.id) == 3  # ana, cy, di: the rest stored
        [dropped] = errors(caplog)
        assert "dropped one activity" in dropped and "UnicodeEncodeError" in dropped


async def test_one_unstorable_event_row_is_dropped_and_the_batch_stored(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with console_bot(tmp_path / "r.db") as bot:
        app = bot.app
        await app.ingestor.record([_act("ana", "1")])
        await app.writer.flush()
        comm = await app.store.communities.ensure("console", "test")
        ana = await app.store.accounts.find_by_name("console", "ana")
        assert ana is not None
        row = EventRow(comm.id, int(Kind.MESSAGE), ana.id, 0, int(T0.timestamp()), "console",
                       "2", 1.0)
        app.writer.submit([row, row._replace(channel="c\udcff", source="3"),
                           row._replace(source="4"), row._replace(source=str(2**70))])
        await app.writer.flush()
        assert await app.store.events.count(comm.id) == 4  # #1, #2, #4 and the big id
        app.writer.submit([row._replace(source="5", ts=2**64)])  # past SQLite's integers
        await app.writer.flush()
        await app.writer.flush()
        assert await app.store.events.count(comm.id) == 4
        assert len(errors(caplog)) == 2 and all("dropped one event row" in e
                                                for e in errors(caplog))
