"""Peak memory of `klout-bot console` fed one huge line on stdin (a pipe).

The console reads stdin in chunks and skips an over-long line up to its newline, so
its peak RSS should not depend on the line's length. Prints the baseline (a short
session) and the peak with a --mb MB line, each measured in a fresh child process
(resource.getrusage of the children), and what the console answered.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

KLOUT = Path(sys.executable).with_name("klout-bot")
CHUNK = 1 << 20


def peak_rss_mb(huge_mb: int, db: Path) -> tuple[float, str]:
    """Run one console session whose first line is `huge_mb` MB long; returns the child's
    peak RSS (MB) and the tail of what it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    child = subprocess.Popen([str(KLOUT), "console", "--db", str(db), "--as", "ana"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
    stdin, stdout = child.stdin, child.stdout
    if stdin is None or stdout is None:  # pragma: no cover - both are pipes above
        raise RuntimeError("no pipes to the console")
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(stdout.read()))
    reader.start()
    block = b"x" * CHUNK
    for _ in range(huge_mb):
        stdin.write(block)
    stdin.write(b"\npost hello\n/klout\n")
    stdin.close()
    child.wait()
    reader.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of the children is the largest so far; run the bigger case last.
    return max(after, before) / 1024, b"".join(out).decode(errors="replace")[-300:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="length of the huge line (MB)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "console.db"
        base, _ = peak_rss_mb(0, db)
        peak, tail = peak_rss_mb(args.mb, db)
    print(f"console peak RSS: short session {base:.0f} MB; with a {args.mb} MB line "
          f"{peak:.0f} MB")
    print("last output:", tail.strip().replace(os.linesep, " | ")[-200:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
