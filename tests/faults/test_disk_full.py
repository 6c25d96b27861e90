"""A full disk (issue 16 fault suite), on a small tmpfs: a post the disk can't take is
answered "try again" and not stored, one it can take is answered "posted" and stored
once, no traceback reaches the user, and the file stays sound."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.core.helpers import console_bot
from tests.faults.helpers import tmpfs
from tests.faults.test_corruption import integrity_ok
from tests.privacy.helpers import rows

POSTED = re.compile(r"^posted #(\d+)")
TRY_AGAIN = "I can't reach my score database right now"


def fill(folder: Path) -> Path:
    """Take every free byte of the filesystem (ENOSPC ends the write)."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        chunk = b"\0" * 65536
        while True:
            try:
                os.write(fd, chunk)
            except OSError:
                if len(chunk) == 1:
                    break
                chunk = chunk[: len(chunk) // 2]
    finally:
        os.close(fd)
    return filler


async def test_a_full_disk_refuses_posts_truthfully(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "small", "2m") as folder:
        db = folder / "full.db"
        told: list[int] = []
        refused = 0
        async with console_bot(db) as bot:
            for i in range(5):
                found = POSTED.match(await bot.say(f"post warm {i} @bo", as_="ana"))
                assert found
                told.append(int(found.group(1)))
            filler = fill(folder)
            for i in range(30):
                out = await bot.say(f"post while full {i} @cy @di", as_=f"new{i}")
                assert "Traceback" not in out
                found = POSTED.match(out)
                if found:  # SQLite may still have had room in a page it held
                    told.append(int(found.group(1)))
                else:
                    assert out.startswith(TRY_AGAIN), out
                    refused += 1
            filler.unlink()
            found = POSTED.match(await bot.say("post after @bo", as_="ana"))
            assert found, "posting works again once there is room"
            told.append(int(found.group(1)))
        assert refused > 0, "the disk never filled up"
        assert integrity_ok(db)
        stored = [int(r[0]) for r in rows(
            db, "SELECT source FROM events WHERE kind = 0 AND channel = 'console'")]
        assert sorted(stored) == sorted(told) and len(set(told)) == len(told)
        print(f"disk full: {len(told)} posted, {refused} refused, all true")
