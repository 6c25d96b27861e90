"""Run every benchmark in turn and print their figures (`make bench`).

Each benchmark runs in its own process, one after another, so they never compete for
the machine's cores and each peak-RSS figure is that benchmark's own. `--quick` runs
the small sizes (100k members / 1M events) for a check in a minute or two; the full
run takes several minutes and a few GB of memory at its peak.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (script, arguments for the full run, arguments for --quick)
BENCHES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("bench_kernel.py", (), ("--small", "--no-networkx")),
    ("bench_rescore.py", (), ("--small", "--no-networkx")),
    ("bench_discord.py", (), ("--events", "50000", "--users", "100000", "--rounds", "2",
                              "--guilds", "10")),
    ("bench_cards.py", (), ("--users", "100000", "--rounds", "1")),
    ("bench_card_images.py", (), ("--cards", "100", "--colds", "2", "--users", "20000",
                                  "--rounds", "1")),
    ("bench_x_cost.py", (), ()),
    ("bench_leaderboards.py", (), ()),
    ("bench_privacy.py", (), ("--small",)),
    ("bench_freshness.py", (), ("--sizes", "1000,10000", "--seconds", "8")),
    ("bench_console_input.py", (), ("--mb", "50")),
    # Needs the shared Higgs file; says "skipped" without it.
    ("bench_score_cli.py", (), ("--rounds", "1")),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("only", nargs="*", help="run only these scripts (e.g. bench_kernel)")
    args = parser.parse_args(argv)
    failed: list[str] = []
    for script, full, quick in BENCHES:
        if args.only and script.removesuffix(".py") not in {o.removesuffix(".py")
                                                             for o in args.only}:
            continue
        cmd = [sys.executable, str(HERE / script), *(quick if args.quick else full)]
        print(f"\n=== {script} {' '.join(cmd[2:])}", flush=True)
        started = time.perf_counter()
        code = subprocess.call(cmd)
        print(f"=== {script}: exit {code}, {time.perf_counter() - started:.1f} s",
              flush=True)
        if code:
            failed.append(script)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
