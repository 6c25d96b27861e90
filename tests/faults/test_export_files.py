"""The console's export files (issue 16, defect 5): created readable by their owner
only, and deleted by /privacy forget, which deletes what they hold."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.core.helpers import console_bot
from tests.faults.helpers import folder_files_holding
from tests.privacy.helpers import confirm_code, export_path, link_code


async def test_exports_are_private_and_go_with_a_forget(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    async with console_bot(db) as bot:
        await bot.say("post hello @bo", as_="Quillon")
        await bot.say("reply #1 hi", as_="bo")
        code = link_code(await bot.say("/link twitter quillon_x", as_="Quillon"))
        await bot.say(f"xbio quillon_x {code}")
        assert "Linked" in await bot.say("/link twitter verify", as_="Quillon")
        # An export left by an older version, world-readable: the next one tightens it.
        old = export_path(await bot.say("/privacy export", as_="Quillon"))
        old.chmod(0o644)
        mine = export_path(await bot.say("/privacy export", as_="quillon"))
        assert mine == old, "one person, one file, whatever the case they type"
        theirs = export_path(await bot.say("/privacy export", as_="bo"))
        data = mine.read_bytes()
        assert b"quillon" in data.lower() and b"quillon_x" in data
        for path in (mine, theirs):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, oct(path.stat().st_mode)
        # One an older version named after the name as typed, the day before.
        older = tmp_path / "Quillon-klout-export-console-20261122.json"
        older.write_bytes(data)
        # Files that only look alike belong to others and stay.
        decoy = tmp_path / "quillon-klout-export-console-20261123.json.bak"
        decoy.write_text("quillon: not ours")
        code = confirm_code(await bot.say("/privacy forget", as_="Quillon"))
        out = await bot.say(f"/privacy forget confirm {code}", as_="Quillon")
        assert out.startswith("Forgotten")
        assert f"deleted your export {mine}" in out
        assert f"deleted your export {older}" in out
        assert not mine.exists() and not older.exists()
        assert theirs.exists() and decoy.exists()
        assert folder_files_holding(tmp_path, b"quillon") == [decoy.name]
