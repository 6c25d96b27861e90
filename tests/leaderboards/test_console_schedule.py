"""The console outside `run`: a schedule saved with /kloutadmin schedule (or a console
[[leaderboard]] entry in the config) is the one /leaderboard-preview shows and
/leaderboard-post posts to, as `run`'s scheduler would use it."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from tests.core.helpers import console_bot

REPO = Path(__file__).resolve().parents[2]
NOT_SCHEDULED = "No weekly leaderboard is scheduled here yet"


async def test_a_saved_schedule_is_previewed_and_posted_to(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "s.db") as bot:
        out = bot.adapter.stdout
        assert isinstance(out, io.StringIO)
        await bot.say("post hi")
        await bot.say("reply #1 yo", as_="bo")
        await bot.say("/rescore")
        saved = await bot.say("/kloutadmin schedule weekly-board wed 18:30 Europe/Berlin 5")
        assert "weekly-board" in saved
        preview = await bot.say("/leaderboard-preview")
        assert NOT_SCHEDULED not in preview, preview
        assert "Goes to weekly-board on console at wed 18:30 Europe/Berlin" in preview, preview
        posted = await bot.say("/leaderboard-post")
        assert "Posted the leaderboard to weekly-board" in posted, posted
        assert "[weekly-board] Weekly leaderboard" in out.getvalue()
        comm = await bot.app.store.communities.ensure("console", "test")
        [dest] = await bot.app.store.leaderboards.for_community("console", "test")
        assert (dest.destination, dest.top, dest.community) == ("weekly-board", 5, "test")
        assert comm.external_id == "test"

        await bot.say("/kloutadmin unschedule")
        assert NOT_SCHEDULED in await bot.say("/leaderboard-preview")
        assert "no weekly leaderboard channel" in await bot.say("/leaderboard-post")


def test_a_config_entry_is_used_by_the_console_command(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[[leaderboard]]\nplatform = "console"\nchannel = "from-config"\n'
                      'community = "local"\nweekday = "fri"\ntime = "17:00"\n',
                      encoding="utf-8")
    result = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "bot.cli", "--config", str(config), "console", "--db",
         str(tmp_path / "c.db"), "--as", "ana"],
        input="post hi\n/leaderboard-preview\n/leaderboard-post\n", capture_output=True,
        text=True, timeout=120, cwd=REPO, check=False)
    assert result.returncode == 0, result.stderr
    assert "Goes to from-config on console at fri 17:00 UTC" in result.stdout, result.stdout
    assert "[from-config] Weekly leaderboard" in result.stdout
    assert "Traceback" not in result.stderr
