"""Storage: a repository layer over SQLite. No SQL lives outside this package."""

from __future__ import annotations

from pathlib import Path

from bot.storage.accounts import AccountRepository, CommunityRepository
from bot.storage.backfill import BackfillRepository
from bot.storage.card_state import CardStateRepository
from bot.storage.db import Database
from bot.storage.errors import StorageError
from bot.storage.events import EventRepository, EventWriter
from bot.storage.guild_settings import GuildSettingsRepository
from bot.storage.leaderboards import LeaderboardRepository
from bot.storage.models import Account, BoardEntry, Community, EventRow, ScoreRow
from bot.storage.privacy import PrivacyRepository
from bot.storage.read_runner import ReadRunner
from bot.storage.role_grants import RoleGrantRepository
from bot.storage.scores import ScoreRepository
from bot.storage.vouches import VouchRepository
from bot.storage.web import WebRepository

__all__ = [
    "Account", "BoardEntry", "Community", "Database", "EventRow", "EventWriter", "ScoreRow",
    "Storage", "StorageError",
]


class Storage:
    """Every repository over one database. `async with Storage(path) as store:`."""

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 5.0,
                 read_only: bool = False) -> None:
        self.db = Database(path, busy_timeout_s=busy_timeout_s, read_only=read_only)
        self.communities = CommunityRepository(self.db)
        self.accounts = AccountRepository(self.db)
        self.events = EventRepository(self.db)
        self.scores = ScoreRepository(self.db)
        self.leaderboards = LeaderboardRepository(self.db)
        self.guild_settings = GuildSettingsRepository(self.db)
        self.backfill = BackfillRepository(self.db)
        self.role_grants = RoleGrantRepository(self.db)
        self.vouches = VouchRepository(self.db)
        self.web = WebRepository(self.db)
        # Reads that must not queue behind the aiosqlite thread (/klout cards).
        self.reads = ReadRunner(self.db)
        self.card_state = CardStateRepository(self.db, self.reads)
        self.privacy = PrivacyRepository(self.db, self.accounts, self.communities,
                                         self.events)

    async def __aenter__(self) -> Storage:
        await self.db.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.reads.close()
        await self.db.close()
