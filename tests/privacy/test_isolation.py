"""One community's data never shows up in another's answers, boards or exports."""

from __future__ import annotations

import json
from pathlib import Path

from tests.core.helpers import ConsoleBot, console_bot
from tests.privacy.helpers import read_export, score_of


async def two_communities(bot: ConsoleBot) -> None:
    """ana and bo are in both; cy only in north, di only in south."""
    await bot.say("/community north")
    await bot.say("post north news", as_="ana")          # #1
    for fan in ("bo", "cy"):
        await bot.say("reply #1 yes", as_=fan)
    await bot.say("/rescore")
    await bot.say("/community south")
    await bot.say("post south news", as_="bo")           # #1 in south
    for fan in ("ana", "di"):
        await bot.say("reply #1 ok", as_=fan)
        await bot.say("react #1", as_=fan)
    await bot.say("/rescore")


async def test_answers_and_boards_stay_in_their_community(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "i.db") as bot:
        await two_communities(bot)
        await bot.say("/community north")
        north_board = await bot.say("/leaderboard")
        north_ana = await bot.say("/klout @ana", as_="bo")
        north_bo = await bot.say("/klout @bo", as_="ana")
        await bot.say("/community south")
        south_board = await bot.say("/leaderboard")
        south_ana = await bot.say("/klout @ana", as_="bo")
        south_bo = await bot.say("/klout @bo", as_="ana")
        assert "cy" in north_board and "di" not in north_board
        assert "di" in south_board and "cy" not in south_board
        assert "3 members" in north_board and "3 members" in south_board
        # Each answer counts only its own community's activity.
        assert score_of(north_ana) > score_of(north_bo)
        assert score_of(south_bo) > score_of(south_ana)
        assert "di" not in north_ana and "cy" not in south_bo
        assert "of 3" in north_ana and "of 3" in south_bo
        await bot.say("/community north")
        assert "doesn't have a score yet" in await bot.say("/klout @di", as_="ana")


async def test_export_is_per_person_and_lists_each_community(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "e.db") as bot:
        await two_communities(bot)
        out = await bot.say("/privacy export", as_="ana")
        assert "2 communities" in out
        data = read_export(out)
        by_name = {c["community_id"]: c for c in data["communities"]}
        assert set(by_name) == {"north", "south"}
        north, south = by_name["north"], by_name["south"]
        assert {e["kind"] for e in north["events_made"]} == {"message"}
        assert {e["kind"] for e in north["events_received"]} == {"reply"}
        assert {e["kind"] for e in south["events_made"]} == {"reply", "reaction", "message"}
        assert south["events_received"] == []
        # Pseudonyms restart per community: they can't match people across communities.
        assert {e["other"] for e in north["events_received"]} == {"member-1", "member-2"}
        assert {e["other"] for e in south["events_made"] if e["other"]} == {"member-1"}
        # cy (north only) exports only north.
        cy = await bot.say("/privacy export", as_="cy")
        cy_data = read_export(cy)
        assert [c["community_id"] for c in cy_data["communities"]] == ["north"]
        assert '"ana"' not in json.dumps(cy_data) and '"bo"' not in json.dumps(cy_data)
