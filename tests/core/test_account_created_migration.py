"""Migration 0011 adds accounts.created_at and dates the Discord accounts already stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import discord.utils

from bot.storage import Storage

# Real-looking Discord user ids (a 2016 and a 2023 account), and ids that are not
# snowflakes: a console name, an X id on another platform, junk.
DISCORD_IDS = ("80351110224678912", "1096140512427073598")


async def test_existing_discord_accounts_get_the_time_their_id_encodes(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    async with Storage(path):
        pass
    conn = sqlite3.connect(path)
    with conn:  # as the database stood before migration 0011
        conn.execute("DELETE FROM schema_migrations WHERE number = 11")
        conn.execute("DROP INDEX accounts_created")
        conn.execute("ALTER TABLE accounts DROP COLUMN created_at")
        conn.executemany(
            "INSERT INTO accounts (platform, external_id, display_name) VALUES (?, ?, ?)",
            [("discord", i, "someone") for i in DISCORD_IDS]
            + [("console", "ada", "ada"), ("twitter", "1400000000000000000", "x"),
               ("discord", "12ab", "junk"), ("discord", "", "empty")])
    conn.close()
    async with Storage(path) as store:
        for external_id in DISCORD_IDS:
            account = await store.accounts.by_external("discord", external_id)
            assert account is not None
            want = discord.utils.snowflake_time(int(external_id)).timestamp()
            assert account.created_at == int(want)
        for platform, external_id in (("console", "ada"), ("twitter", "1400000000000000000"),
                                      ("discord", "12ab"), ("discord", "")):
            account = await store.accounts.by_external(platform, external_id)
            assert account is not None and account.created_at is None
