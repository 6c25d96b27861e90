"""`klout-bot sync-commands`: registers the command tree on demand (never on connect)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot import cli, cli_discord
from bot.adapters.discord_endpoints import apply_endpoints, current_endpoints
from tests.discord.harness import bot_config, discord_bot
from tests.fakes.discord_fake import FakeDiscord, FakeGuild


async def test_sync_commands_registers_globally_or_per_guild(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    config = bot_config(fake, tmp_path / "unused.db")
    previous = current_endpoints()
    try:
        names = await cli_discord.sync_commands(config, fake.token, None)
        assert set(names) == {"klout", "leaderboard", "help", "kloutadmin", "privacy", "link",
                              "unlink"}
        admin = next(c for c in fake.commands[None] if c["name"] == "kloutadmin")
        assert int(admin["default_member_permissions"]) == 1 << 5  # Manage Server
        assert admin["dm_permission"] is False  # guild only
        subcommands = {o["name"] for o in admin["options"]}
        assert {"show", "schedule", "exclude-channel", "tier-role", "backfill",
                "wipe"} <= subcommands
        privacy = next(c for c in fake.commands[None] if c["name"] == "privacy")
        assert {o["name"] for o in privacy["options"]} == {
            "info", "optout", "optin", "export", "forget"}
        assert "default_member_permissions" not in privacy or \
            privacy["default_member_permissions"] is None  # everyone's own data

        await cli_discord.sync_commands(config, fake.token, guild.id)
        assert {c["name"] for c in fake.commands[guild.id]} == set(names)
    finally:
        apply_endpoints(*previous)
    assert not (tmp_path / "unused.db").exists()  # the real database stays untouched

    async with discord_bot(fake, tmp_path / "run.db"):
        pass
    puts = fake.requests_for("PUT", r"/applications/\d+(/guilds/\d+)?/commands")
    assert len(puts) == 2  # connecting synced nothing


def test_cli_lists_the_subcommand_and_needs_a_token(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    assert cli.main(["sync-commands"]) == 2
    assert "DISCORD_TOKEN" in capsys.readouterr().err
    parser = argparse.ArgumentParser()
    cli_discord.add_parser(parser.add_subparsers())
