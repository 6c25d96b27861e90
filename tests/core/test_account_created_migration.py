"""Migration 0011 adds accounts.created_at and dates the Discord accounts already stored;
the column is per-account data: exported, and gone with the account on forget."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import discord.utils

from bot.services.export import build_export
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


async def test_the_creation_time_is_exported_and_forgotten_with_the_account(
        tmp_path: Path) -> None:
    async with Storage(tmp_path / "p.db") as store:
        account_id = await store.accounts.ensure("discord", DISCORD_IDS[0], display_name="Vera",
                                                 created_at=1_456_000_000)
        account = await store.accounts.get(account_id)
        assert account is not None and account.created_at == 1_456_000_000
        document, _, _ = await build_export(store, [account], datetime(2026, 11, 1, tzinfo=UTC))
        assert document["accounts"][0]["created_at"] == "2016-02-20T20:26:40+00:00"
        await store.privacy.forget([account])
        rows = await store.db.fetchall("SELECT created_at FROM accounts")
        assert rows == []
