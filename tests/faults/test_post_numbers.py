"""Two consoles on one database (issue 16, defect 9): post numbers are taken in the
same transaction that stores the post, so no two posts share a number and `reply #N`
always means one post."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

from tests.core.helpers import console_bot
from tests.privacy.helpers import rows

REPO = Path(__file__).resolve().parents[2]
POSTED = re.compile(r"posted #(\d+)")
PER_PROCESS = 120


def _numbers_stored(db: Path) -> list[int]:
    return [int(r[0]) for r in rows(
        db, "SELECT source FROM events WHERE kind = 0 AND channel = 'console' ORDER BY id")]


async def test_two_connections_racing_never_share_a_number(tmp_path: Path) -> None:
    db = tmp_path / "two.db"
    async with console_bot(db, user="ana") as one, console_bot(db, user="bo") as two:
        # Interleaved on one event loop: each post's awaits let the other run between
        # reading the last number and storing the next.
        outs = await asyncio.gather(*(bot.say(f"post {i}") for i in range(40)
                                      for bot in (one, two)))
    told = [int(POSTED.match(o).group(1)) for o in outs]  # type: ignore[union-attr]
    assert len(set(told)) == len(told) == 80
    assert sorted(_numbers_stored(db)) == sorted(told)


async def test_two_console_processes_never_share_a_number(tmp_path: Path) -> None:
    db = tmp_path / "procs.db"
    async with console_bot(db) as bot:  # the schema, before both start
        await bot.say("post first")
    lines = "".join(f"post hello {i}\n" for i in range(PER_PROCESS)).encode()

    async def console(user: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "console", "--db", str(db), "--as", user,
            cwd=REPO, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(lines), timeout=180)
        assert proc.returncode == 0, err.decode()
        assert b"Traceback" not in out + err
        return out.decode()

    outs = await asyncio.gather(console("ana"), console("bo"))
    told = [int(n) for out in outs for n in POSTED.findall(out)]
    assert len(told) == 2 * PER_PROCESS
    assert len(set(told)) == len(told), (
        f"{len(told) - len(set(told))} post numbers handed out twice")
    assert sorted(_numbers_stored(db)) == sorted([1, *told])
