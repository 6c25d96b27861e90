"""An X session (privacy by mention, /link verified through the X API) logs no code."""

from __future__ import annotations

import io
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import FixedClock
from commands.types import Person, Request
from tests.privacy.helpers import CONFIRM, LINK_CODE
from tests.privacy.test_logs import SECRETS, logged
from tests.twitter.helpers import T0, fake_x, x_bot

__all__ = ["logged"]  # the fixture, shared with the console session's log scan


async def test_an_x_session_logs_no_code(tmp_path: Path, logged: io.StringIO,
                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    clock = FixedClock(T0)
    seen: list[str] = []
    async with fake_x(clock) as fake:
        ana = fake.add_user("ana_x")
        async with x_bot(tmp_path / "x.db", fake, clock) as bot:
            await bot.poll()

            async def mention(text: str) -> str:
                post = fake.post(ana, text)
                await bot.poll(advance_s=30)
                [reply] = bot.bot_replies(post)
                seen.append(reply.text)
                return reply.text

            async def link(*args: str) -> str:
                clock.advance(timedelta(seconds=10))
                _, out = await bot.app.handle(Request(
                    "discord", "g1", Person("discord", "d1", "ana"), "link", args,
                    now=clock.now(), channel="c1"))
                seen.append(out.text)
                return out.text

            match = LINK_CODE.search(await link("twitter", "ana_x"))
            assert match is not None
            ana.description = f"me · {match.group(0)}"
            assert "Linked" in await link("twitter", "verify", match.group(0))
            forget = CONFIRM.findall(await mention("@KloutBot privacy forget"))
            await mention(f"@KloutBot privacy forget confirm {forget[0]}")
    codes = [match.group(0), *forget]
    assert len(codes) == 2 and all(any(c in t for t in seen) for c in codes)
    assert caplog.records, "the session logged nothing: the test would prove nothing"
    raw = "\n".join(r.getMessage() for r in caplog.records)
    for text in (raw, logged.getvalue()):
        for secret in [*SECRETS.values(), *fake.credentials().values()]:
            assert str(secret) not in text
        for code in codes:
            assert code not in text and code.lower() not in text
