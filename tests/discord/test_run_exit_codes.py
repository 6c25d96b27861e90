"""`klout-bot run` tells the truth when an adapter dies: a wrong token or an API host
it cannot reach at start ends the whole bot with a non-zero exit code (3: credentials,
1: anything else), after a log line naming the adapter and the cause; the other
adapters are stopped with it, so a service manager's restart-on-failure restarts all.

Real discord.py against FakeDiscord, real tweepy against FakeX, and a loopback port
nothing listens on."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import cli
from bot.adapters.discord_endpoints import apply_endpoints, current_endpoints
from bot.config import Config, DiscordSection, TwitterSection, load_config
from tests.fakes.discord_fake import FakeDiscord
from tests.fakes.x_fake import FakeX

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 20
CREDENTIALS, FAILED = 3, 1


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A loopback port that refuses connections (bound, never listening)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture(autouse=True)
def _endpoints_restored() -> Iterator[None]:
    previous = current_endpoints()
    yield
    apply_endpoints(*previous)


async def run(config: Config, db: Path) -> int:
    """`klout-bot run` as main() runs it (the config already loaded)."""
    return await asyncio.wait_for(cli._run(config, argparse.Namespace(db=str(db))),
                                  TIMEOUT_S)


def discord_config(api_base: str, gateway_url: str) -> Config:
    return Config().with_overrides(
        bot=dataclasses.replace(Config().bot, adapters=["discord"]),
        discord=DiscordSection(api_base=api_base, gateway_url=gateway_url))


def twitter_config(api_base: str) -> Config:
    return Config().with_overrides(
        bot=dataclasses.replace(Config().bot, adapters=["twitter"]),
        twitter=dataclasses.replace(TwitterSection(), api_base=api_base, max_retries=0,
                                    request_timeout_s=2.0))


def failure_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "bot.runner" and r.levelno >= logging.ERROR]


async def test_discord_token_rejected_exits_3_naming_adapter_and_cause(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "not-the-token")
    async with FakeDiscord() as fake:
        assert await run(discord_config(fake.api_base, fake.gateway_url),
                         tmp_path / "d.db") == CREDENTIALS
        assert fake.requests_for("GET", r"/users/@me")[0].status == 401
    [line] = failure_lines(caplog)
    assert "adapter discord failed" in line and "DISCORD_TOKEN" in line
    assert "not-the-token" not in caplog.text


async def test_discord_host_unreachable_exits_1(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        dead_port: int) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "some-token")
    base = f"http://127.0.0.1:{dead_port}/api/v10"
    assert await run(discord_config(base, f"ws://127.0.0.1:{dead_port}/gateway"),
                     tmp_path / "d.db") == FAILED
    [line] = failure_lines(caplog)
    assert "adapter discord failed" in line and f"127.0.0.1:{dead_port}" in line


def _x_env(monkeypatch: pytest.MonkeyPatch, fake: FakeX | None, *, access_token: str) -> None:
    creds = fake.credentials() if fake is not None else {
        "consumer_key": "k", "consumer_secret": "s", "access_token_secret": "t",
        "bearer_token": "b"}
    monkeypatch.setenv("X_API_KEY", creds["consumer_key"])
    monkeypatch.setenv("X_API_SECRET", creds["consumer_secret"])
    monkeypatch.setenv("X_ACCESS_TOKEN", access_token)
    monkeypatch.setenv("X_ACCESS_TOKEN_SECRET", creds["access_token_secret"])
    monkeypatch.setenv("X_BEARER_TOKEN", creds["bearer_token"])


async def test_x_credentials_rejected_exits_3(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    async with FakeX(clock=lambda: datetime.now(UTC)) as fake:
        _x_env(monkeypatch, fake, access_token="999-wrong-token")
        assert await run(twitter_config(fake.api_base), tmp_path / "x.db") == CREDENTIALS
    [line] = failure_lines(caplog)
    assert "adapter twitter failed" in line and "401" in line
    assert "999-wrong-token" not in caplog.text


async def test_x_forbidding_who_am_i_at_start_exits_3(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    async with FakeX(clock=lambda: datetime.now(UTC)) as fake:
        _x_env(monkeypatch, fake, access_token=fake.access_token)
        fake.inject(r"^/2/users/me$", 403, count=None)
        assert await run(twitter_config(fake.api_base), tmp_path / "x.db") == CREDENTIALS
    [line] = failure_lines(caplog)
    assert "adapter twitter failed" in line and "403" in line


async def test_x_host_unreachable_at_start_exits_1_instead_of_retrying_quietly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        dead_port: int) -> None:
    _x_env(monkeypatch, None, access_token="1-token")
    base = f"http://127.0.0.1:{dead_port}"
    assert await run(twitter_config(base), tmp_path / "x.db") == FAILED
    [line] = failure_lines(caplog)
    assert "adapter twitter failed" in line and base in line
    assert "ClientConnectorError" in line


async def test_one_adapter_failing_stops_the_others_and_the_process_exits_non_zero(
        tmp_path: Path) -> None:
    """The real process, console beside Discord: stdin stays open (the console would
    run for ever), Discord's token is wrong; the bot exits 3 at once, console and all."""
    async with FakeDiscord() as fake:
        config = tmp_path / "c.toml"
        config.write_text(
            '[bot]\nadapters = ["console", "discord"]\nlog_level = "INFO"\n'
            f'[discord]\napi_base = "{fake.api_base}"\ngateway_url = "{fake.gateway_url}"\n',
            encoding="utf-8")
        load_config(config)  # the test's own config is valid
        bot = await asyncio.create_subprocess_exec(
            str(REPO / ".venv" / "bin" / "klout-bot"), "--config", str(config), "run",
            "--db", str(tmp_path / "run.db"), cwd=REPO, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "DISCORD_TOKEN": "wrong", "PYTHONUNBUFFERED": "1"})
        try:
            _, err = await asyncio.wait_for(bot.communicate(), TIMEOUT_S)
        finally:
            if bot.returncode is None:  # pragma: no cover - only when the test fails
                bot.kill()
                await bot.wait()
    log = err.decode()
    assert bot.returncode == CREDENTIALS, log
    assert "adapter discord failed" in log and "stopping the other 1 adapter" in log
    assert "Traceback" not in log
    assert "exit code 3" in log
