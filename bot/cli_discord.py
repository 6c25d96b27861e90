"""`klout-bot sync-commands [--guild ID]`: register the slash commands with Discord.

Run it after installing or upgrading. The bot never syncs on connect: every start would
re-register the commands and burn Discord's daily limit of command creations.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from bot.config import Config

NAME = "sync-commands"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        NAME, help="register the Discord slash commands (after install or upgrade)",
        description="Register /klout, /leaderboard, /help and /kloutadmin with Discord. "
                    "Global commands can take up to an hour to appear everywhere; --guild "
                    "registers them in one server at once (handy while testing). Needs "
                    "DISCORD_TOKEN.")
    parser.add_argument("--guild", type=int, metavar="ID",
                        help="register in this server only (instant)")
    return parser


def run(args: argparse.Namespace, config: Config) -> int:
    token = os.environ.get("DISCORD_TOKEN", "")
    if not token:
        sys.stderr.write("klout-bot: set DISCORD_TOKEN to the bot's token first.\n")
        return 2
    import asyncio  # here, as discord: `klout-bot score` imports this module too

    import discord

    try:
        names = asyncio.run(sync_commands(config, token, args.guild))
    except discord.LoginFailure:
        sys.stderr.write("klout-bot: Discord refused DISCORD_TOKEN (wrong or reset token).\n")
        return 1
    except discord.HTTPException as exc:
        sys.stderr.write(f"klout-bot: Discord refused the commands: HTTP {exc.status} "
                         f"{exc.text}\n")
        return 1
    where = f"server {args.guild}" if args.guild else "every server (may take up to an hour)"
    sys.stdout.write(f"registered {', '.join('/' + n for n in names)} in {where}\n")
    return 0


async def sync_commands(config: Config, token: str, guild_id: int | None) -> list[str]:
    """Log in (no gateway connection), register the command tree, log out."""
    import discord

    from bot.adapters.discord import DiscordAdapter
    from bot.adapters.discord_endpoints import apply_endpoints
    from bot.app import KloutApp
    from bot.clock import SystemClock

    apply_endpoints(config.discord.api_base, config.discord.gateway_url)
    # The command tree needs an app but no data: keep the real database untouched.
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "sync.db"
        async with KloutApp(config, clock=SystemClock(), db_path=db) as app:
            adapter = DiscordAdapter(app, token=token)
            client = adapter.client
            try:
                await client.login(token)
                tree = client.tree
                if guild_id is None:
                    synced = await tree.sync()
                else:
                    guild = discord.Object(guild_id)
                    tree.copy_global_to(guild=guild)
                    synced = await tree.sync(guild=guild)
            finally:
                await client.close()
    return [command.name for command in synced]
