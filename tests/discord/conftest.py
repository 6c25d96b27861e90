from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.discord_fake import FakeDiscord, FakeGuild


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
def guild(fake: FakeDiscord) -> FakeGuild:
    return fake.add_guild("Klout HQ", channels=("general", "memes"),
                          members=["alice", "bob", "cy", "di", "ed"])
