"""Every table is reachable by forget and wipe, or declared to hold no personal data.

When this fails after adding a table: give it an account_id/actor_id/target_id/
linked_id column (forget finds it), or a community_id column (wipe finds it), or
register a statement in bot/storage/privacy.py (EXTERNAL_ID_STATEMENTS,
COMMUNITY_EXTERNAL_STATEMENTS), or list it in NOT_PERSONAL_TABLES with a reason.
"""

from __future__ import annotations

from pathlib import Path

from bot.storage import Storage
from bot.storage.privacy import (
    ACCOUNT_REF_COLUMNS,
    COMMUNITY_EXTERNAL_STATEMENTS,
    EXTERNAL_ID_STATEMENTS,
    NOT_PERSONAL_TABLES,
)


async def test_every_table_is_covered(tmp_path: Path) -> None:
    async with Storage(tmp_path / "s.db") as store:
        schema = await store.privacy.schema()
    registered = ({t for t, _ in EXTERNAL_ID_STATEMENTS}
                  | {t for t, _, _ in COMMUNITY_EXTERNAL_STATEMENTS} | NOT_PERSONAL_TABLES
                  | {"accounts"})
    uncovered = [table for table, columns in schema.items()
                 if table not in registered and "community_id" not in columns
                 and not set(columns) & set(ACCOUNT_REF_COLUMNS)]
    assert uncovered == [], f"tables unknown to forget/wipe: {uncovered}"
    # Registered statements name tables that exist (catches renames).
    stale = sorted(registered - set(schema))
    assert stale == [], f"privacy registry names tables that do not exist: {stale}"
