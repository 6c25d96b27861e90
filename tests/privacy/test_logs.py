"""Tokens and one-time codes never reach a log, at any level."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logs import REDACTOR, SECRET_ENV, setup_logging
from tests.core.helpers import console_bot
from tests.privacy.helpers import CONFIRM, LINK_CODE, build_community, verifier

SECRETS = {name: f"sekrit-{name.lower()}-0123456789" for name in SECRET_ENV}


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The bot's real log setup at DEBUG, into a buffer; restored afterwards."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, {n: logging.getLogger(n).level for n in (
        "discord", "aiohttp", "apscheduler", "aiosqlite", "tweepy", "oauthlib")})
    stream = io.StringIO()
    setup_logging("DEBUG", stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)
        REDACTOR.secrets = [s for s in REDACTOR.secrets if s not in SECRETS.values()]


async def test_a_full_session_logs_no_token_and_no_code(
        tmp_path: Path, logged: io.StringIO, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    transcript: list[str] = []
    async with console_bot(tmp_path / "s.db") as bot:
        async def say(line: str, as_: str | None = None) -> str:
            out = await bot.say(line, as_=as_)
            transcript.append(out)
            return out

        await build_community(bot)
        verifier(bot).set_account("ana_x", "1001")
        code = LINK_CODE.search(await say("/link twitter ana_x", as_="ana"))
        assert code is not None
        await say("/link twitter verify WRONGCODE1", as_="ana")
        await say(f"xbio ana_x {code.group(0)}")
        await say(f"/link twitter verify {code.group(0)}", as_="ana")
        await say("/privacy export", as_="ana")
        forget = CONFIRM.findall(await say("/privacy forget", as_="bo"))
        await say("/privacy forget confirm QQQQQQ", as_="bo")
        wipe = CONFIRM.findall(await say("/privacy-wipe-community", as_="ana"))
        await say("/bogus", as_="ana")
        await say(f"/privacy forget confirm {forget[0]}", as_="bo")
        await say(f"/privacy-wipe-community confirm {wipe[0]}", as_="ana")
        # Something in the process logs a token by mistake: the filter still hides it.
        logging.getLogger("klout-bot").error("oops, token is %s", SECRETS["DISCORD_TOKEN"])
    codes = [code.group(0), *wipe, *forget]
    assert len(codes) == 3
    assert all(any(c in t for t in transcript) for c in codes)  # the user did see them
    raw = "\n".join(r.getMessage() for r in caplog.records if r.name != "klout-bot")
    assert caplog.records, "the session logged nothing: the test would prove nothing"
    written = logged.getvalue()
    assert "oops, token is ***" in written
    for text in (raw, written):
        for secret in SECRETS.values():
            assert secret not in text
        for c in codes:
            assert c not in text and c.lower() not in text
    # aiosqlite would log every bound parameter at DEBUG; it is held at WARNING.
    assert not [r for r in caplog.records if r.name.startswith("aiosqlite")]
