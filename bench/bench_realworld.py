"""Score the real data sets (and the synthetic community) and check the model's targets.

    python bench/bench_realworld.py                 # higgs, congress, synthetic, discord-4
    python bench/bench_realworld.py higgs           # one of them
    python bench/bench_realworld.py --no-attacks    # distribution and correlations only

Prints, per data set: the count per tier (acted-on users), the top scores, rank
correlation (Spearman) with distinct actors and with converged PageRank, stability
(first 80% of events against all, scored at the same end time), each standard
attack with its target's score and rank before and after and the bound it must
stay under, and every target with PASS/FAIL. Exit status 1 if any target fails.
The data are read from /work/shared/data/realworld/ (never copied into the repo).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.realworld import (
    CONGRESS_PATH,
    HIGGS_PATH,
    Report,
    evaluate,
    load_congress,
    load_higgs,
    small_discord_server,
    synthetic_world,
)
from scoring import MODEL_VERSION, ScoringConfig

WORLDS = {
    "higgs": lambda: load_higgs() if HIGGS_PATH.exists() else None,
    "congress": lambda: load_congress() if CONGRESS_PATH.exists() else None,
    "synthetic": lambda: synthetic_world(),
    "discord-4": lambda: small_discord_server(),
}


def print_report(report: Report, seconds: float) -> None:
    print(f"\n## {report.world}: {report.users} users, {report.acted_on} acted on "
          f"(model {MODEL_VERSION}, {seconds:.1f} s)")
    print(f"propagation: {report.iterations} iterations, converged={report.converged}; "
          f"PageRank reference: {report.pagerank_iterations} iterations")
    print("tiers (acted-on users): " + ", ".join(f"{k} {v}" for k, v in report.tiers.items()))
    print(f"top scores {report.top}; 80+: {report.at_least_80}, 90+: {report.at_least_90}; "
          f"acted-on median {report.median_acted:g}, p90 {report.p90_acted:g}")
    print(f"Spearman vs distinct actors {report.spearman_actors:.3f}, "
          f"vs PageRank {report.spearman_pagerank:.3f}")
    if report.stability:
        s = report.stability
        print(f"stability (last {s['late_days']:.1f} days held out, {s['quiet_users']} quiet "
              f"users): Spearman {s['spearman']:.4f}, drop p50 {s['drop_p50']:g}, "
              f"p99 {s['drop_p99']:g}, max {s['drop_max']:g}, >3 points {s['dropped_over_3']}, "
              f"max rise {s['rise_max']:g}")
    if report.attack_rows:
        print("| attack | target fans | before (rank) | after (rank) | bound | members max |")
        print("| --- | --- | --- | --- | --- | --- |")
        for r in report.attack_rows:
            before = "new" if r["before"] is None else f"{r['before']} ({r['rank_before']})"
            members = (f"{r['members_max']} (<= {r['members_bound']:g})"
                       if "members_max" in r else "")
            print(f"| {r['attack']} | {r['target_fans']} | {before} | {r['after']} "
                  f"({r['rank_after']}) | {r['bound']:g} | {members} |")
    if report.fans_vs_sybils:
        f = report.fans_vs_sybils
        print(f"30 real never-acted-on fans: {f['real_fans']} (raw {f['real_raw']:.3g}); "
              f"30 fresh accounts: {f['fresh_fans']} (raw {f['fresh_raw']:.3g})")
    for c in report.checks:
        print(f"  {'PASS' if c.ok else 'FAIL'} {c.name}: {c.detail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("worlds", nargs="*", help=f"any of {', '.join(WORLDS)} (default all)")
    parser.add_argument("--no-attacks", action="store_true")
    parser.add_argument("--no-stability", action="store_true")
    args = parser.parse_args(argv)
    failed = 0
    for name in args.worlds or list(WORLDS):
        started = time.perf_counter()
        world = WORLDS[name]()
        if world is None:
            print(f"\n## {name}: data file absent, skipped")
            continue
        report = evaluate(world, ScoringConfig(), with_attacks=not args.no_attacks,
                          with_stability=not args.no_stability)
        print_report(report, time.perf_counter() - started)
        failed += sum(not c.ok for c in report.checks)
    print(f"\n{failed} target(s) failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
