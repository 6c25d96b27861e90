"""What checking a database at open costs: PRAGMA quick_check, integrity_check and the
bot's own Database.open, on a store the size of a large community.

    python bench/bench_open.py                 # 1M members / 10M events
    python bench/bench_open.py --small         # 100k members / 1M events
    python bench/bench_open.py --keep DIR      # keep the built store in DIR, reuse it

The store is bench_rescore's (its schema, its synthetic power-law community, loaded the
same way), so its size on disk matches what that benchmark rescores. Each figure is
timed twice: cold (the page cache dropped for the file, where the machine lets us:
posix_fadvise DONTNEED) and warm (just read). The bot checks at every open, so warm is
what a restart of a running machine pays; cold is a first start after a reboot.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_rescore import SIZES, build_db, stored_community  # noqa: E402


def drop_cache(path: Path) -> bool:
    """Ask the kernel to forget the file's pages; False where it can't."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        return True
    except (OSError, AttributeError):
        return False
    finally:
        os.close(fd)


def timed_pragma(path: Path, pragma: str) -> tuple[float, str]:
    conn = sqlite3.connect(path)
    try:
        started = time.perf_counter()
        result = conn.execute(f"PRAGMA {pragma}").fetchone()[0]
        return time.perf_counter() - started, str(result)
    finally:
        conn.close()


def timed_open(path: Path) -> float:
    from bot.storage import Storage

    async def go() -> float:
        started = time.perf_counter()
        async with Storage(path):
            return time.perf_counter() - started
    return asyncio.run(go())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--keep", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    name = "small" if args.small else "large"
    n_users, n_events = SIZES[name]
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        db = folder / f"open-{name}-{args.seed}.db"
        if not db.exists():
            started = time.perf_counter()
            build_db(db, stored_community(n_users, n_events, args.seed))
            print(f"built {db.name} in {time.perf_counter() - started:.0f} s")
        size_mb = db.stat().st_size / 2**20
        print(f"store: {n_users:,} members, {n_events:,} events, {size_mb:,.0f} MB")
        for label, run in (("quick_check", lambda: timed_pragma(db, "quick_check")),
                           ("integrity_check", lambda: timed_pragma(db, "integrity_check")),
                           ("Database.open (with quick_check)",
                            lambda: (timed_open(db), "opened"))):
            cold = drop_cache(db)
            first, result = run()
            second, _ = run()
            print(f"{label:34s} {'cold' if cold else 'first'} {first:6.2f} s   "
                  f"warm {second:6.2f} s   ({result})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
