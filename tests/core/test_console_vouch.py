"""/kloutadmin vouch on the console: stored, listed, and gone once the member is
forgotten (docs/scoring.md, "Trust seeds")."""

from __future__ import annotations

from pathlib import Path

from tests.core.helpers import console_bot
from tests.privacy.helpers import build_community, confirm_code


async def _vouched(bot) -> list[str]:
    store = bot.app.store
    community = await store.communities.ensure("console", "test")
    return await store.vouches.vouched(community.id)


async def test_vouch_is_listed_taken_back_and_forgotten_with_the_member(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "v.db") as bot:
        await build_community(bot)
        out = await bot.say("/kloutadmin vouch bo", as_="ana")
        assert "you vouch for user bo" in out
        assert "Vouched for (trust seeds): user bo" in out
        assert await _vouched(bot) == ["bo"]
        await bot.say("/rescore")  # the rescore reads the vouch as a seed
        out = await bot.say("/kloutadmin unvouch bo", as_="ana")
        assert "no longer vouch" in out and await _vouched(bot) == []
        await bot.say("/kloutadmin vouch bo", as_="ana")
        out = await bot.say("/privacy forget", as_="bo")
        await bot.say(f"/privacy forget confirm {confirm_code(out)}", as_="bo")
        assert await _vouched(bot) == []
        assert "Vouched for (trust seeds): nobody" in await bot.say("/kloutadmin show", as_="ana")
