"""The README's path, through the command line: `klout-bot sync-commands`, then
`klout-bot run --config config.toml` against a server that has history, then new
activity; /klout shows scores for both within seconds. FakeDiscord runs in the test's
loop; the CLI runs in a thread with its own loop, as the real process would, and stops
when the fake closes its gateway with 4004 (the token was revoked).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot import cli
from bot.adapters.discord_endpoints import apply_endpoints, current_endpoints
from tests.discord.test_backfill import history
from tests.fakes.discord_fake import FakeDiscord, FakeGuild


def write_config(path: Path, fake: FakeDiscord, db: Path) -> None:
    path.write_text(f"""
[bot]
adapters = ["discord"]
fresh_scores_after_s = 0.05
log_level = "WARNING"

[storage]
path = "{db}"

[discord]
api_base = "{fake.api_base}"
gateway_url = "{fake.gateway_url}"
backfill_pause_ms = 0
guild_ready_timeout_s = 0.05
""", encoding="utf-8")


def scored_up_to_date(db: Path) -> bool:
    """Whether the stored scores cover every stored event (read as another process)."""
    if not db.exists():
        return False
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        newest = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
        state = conn.execute("SELECT events_seen FROM rescore_state").fetchone()
        inbox = conn.execute("SELECT count(*) FROM event_inbox").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is not there yet
        return False
    finally:
        conn.close()
    return newest > 0 and inbox == 0 and state is not None and state[0] >= newest


async def until(check: Callable[[], bool], timeout: float = 5.0) -> float:  # noqa: ASYNC109
    """Poll: the bot is another thread with its own loop, seen through its database."""
    started = time.monotonic()
    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110 - nothing to wait on across the two loops
            await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_sync_then_run_shows_history_and_new_activity(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    await history(fake, guild, 20)  # alice posts, bob replies, before the bot ever ran
    db, config = tmp_path / "klout.db", tmp_path / "config.toml"
    write_config(config, fake, db)
    monkeypatch.setenv("DISCORD_TOKEN", fake.token)
    previous = current_endpoints()
    try:
        assert await asyncio.to_thread(cli.main, ["sync-commands", "--config", str(config)]) \
            == 0
        assert {c["name"] for c in fake.commands[None]} >= {"klout", "leaderboard"}
        running = asyncio.create_task(asyncio.to_thread(
            cli.main, ["run", "--config", str(config)]))
        try:
            await until(lambda: scored_up_to_date(db))  # backfilled and rescored
            ix = await fake.invoke_slash(guild.id, guild.channel_id, guild.member("ed"),
                                         "klout", {"user": guild.member("alice")})
            await fake.wait_for_request("POST", rf"/interactions/{ix.id}/[^/]+/callback")
            assert ix.callbacks[0]["data"]["embeds"][0]["title"].startswith("Alice: ")

            post = await fake.send_message(guild.id, guild.channel_id, guild.member("cy"),
                                           "hello")
            for fan in ("alice", "di"):
                await fake.send_message(guild.id, guild.channel_id, guild.member(fan), "hi",
                                        reference=post)
            waited = await until(lambda: scored_up_to_date(db) and _events(db) >= 20 + 10 + 5)
            assert waited < 3.0
            ix = await fake.invoke_slash(guild.id, guild.channel_id, guild.member("ed"),
                                         "klout", {"user": guild.member("cy")})
            await fake.wait_for_request("POST", rf"/interactions/{ix.id}/[^/]+/callback")
            assert ix.callbacks[0]["data"]["embeds"][0]["title"].startswith("Cy: ")
        finally:
            await fake.disconnect(4004, resumable=False)
            await asyncio.wait_for(running, 10)
    finally:
        apply_endpoints(*previous)


def _events(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
    finally:
        conn.close()
