"""Benchmark the scoring kernel against networkx and a bare scipy power iteration.

    python bench/bench_kernel.py            # 1M members / 10M events, then 100k / 1M
    python bench/bench_kernel.py --small    # 100k / 1M only
    python bench/bench_kernel.py --json     # one JSON object per size, for run_all.py

Every timing is in memory (no SQLite). Scoring and networkx each run in a child
process on the same saved events, so each peak RSS is that side's own. networkx
is timed including building the DiGraph from the same aggregated (actor,
target, strength) pairs we propagate over (building it from raw events would
only make networkx slower). By default networkx runs on the small size only;
--networkx-large runs it on 1M/10M too (about a minute and 3 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nx_count import CountingFloat

from scoring import AccountFacts, InteractionArrays, ScoringConfig, score_arrays
from scoring.engine import counted_events
from scoring.propagation import components, member_base, pair_graph, solve, transfer_matrix
from scoring.synthetic import DEFAULT_NOW, power_law_community

SIZES = {"large": (1_000_000, 10_000_000), "small": (100_000, 1_000_000)}


def peak_rss_mb() -> float:
    """Peak resident set of this process, in MB.

    VmHWM first: on Linux getrusage's ru_maxrss survives fork+exec, so a child
    started from the (big) generating parent would report the parent's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def timed(fn, repeat: int = 1):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def bare_kernel(matrix, damping: float, iterations: int, tol: float) -> np.ndarray:
    """Linear PageRank-style iteration x = M @ (1 + d x): the floor for any propagation."""
    x = np.zeros(matrix.shape[0])
    for _ in range(iterations):
        new = matrix @ (1.0 + damping * x)
        done = float(np.abs(new - x).max()) <= tol
        x = new
        if done:
            break
    return x


def bench_size(n_users: int, n_events: int, seed: int, run_nx: bool) -> dict:
    """Generate once, then measure each side in its own child process so every peak
    RSS figure is that side's own (data + working set), not the generator's."""
    gen_s, arrays = timed(lambda: power_law_community(n_users, n_events, seed=seed))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.npz"
        np.savez(path, actor=arrays.actor, target=arrays.target, kind=arrays.kind, ts=arrays.ts)
        del arrays
        row = {"n_users": n_users, "n_events": n_events, "generate_s": round(gen_s, 3)}
        row.update(run_child("--score-child", path, n_users))
        if run_nx:
            nx = run_child("--nx-child", path, n_users)
            row.update(nx)
            if "networkx_s" in nx:
                row["networkx_vs_score_arrays"] = round(nx["networkx_s"] / row["score_arrays_s"], 1)
    return row


def run_child(flag: str, path: Path, n_users: int) -> dict:
    cmd = [sys.executable, __file__, flag, str(path), str(n_users)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=3600)
    if proc.returncode != 0:
        key = "networkx_error" if flag == "--nx-child" else "error"
        return {key: proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout)


def load(path: str, n_users: int) -> InteractionArrays:
    with np.load(path) as data:
        return InteractionArrays(
            actor=data["actor"], target=data["target"], kind=data["kind"], ts=data["ts"],
            n_users=n_users,
        )


def score_child(path: str, n_users: int) -> None:
    config = ScoringConfig()
    arrays = load(path, n_users)
    facts = AccountFacts.unknown(n_users)
    rss_data = peak_rss_mb()
    whole_s, result = timed(lambda: score_arrays(arrays, facts, DEFAULT_NOW, config), repeat=2)
    rss_whole = peak_rss_mb()
    # Phases, for the propagation-vs-kernel ratio.
    keep, amount = counted_events(arrays, facts, DEFAULT_NOW, config)
    actor, target, ts = arrays.actor[keep], arrays.target[keep], arrays.ts[keep]
    graph = pair_graph(actor, target, amount, n_users, config)
    matrix = transfer_matrix(graph)
    fans = np.diff(graph.amount.indptr)
    base_s, base = timed(
        lambda: member_base(actor, target, ts, fans, n_users, DEFAULT_NOW, config), repeat=3
    )
    # Component labels are computed once per rescore and shared by its two passes.
    comp_s, labels = timed(lambda: components(matrix), repeat=3)
    prop_s, fixed = timed(lambda: solve(matrix, config, base, labels=labels), repeat=3)
    bare_s, _ = timed(
        lambda: bare_kernel(matrix, config.damping, fixed.iterations, config.tolerance), repeat=3
    )
    row = {
        "pairs": int(matrix.nnz),
        "iterations": fixed.iterations,
        "converged": fixed.converged,
        "score_arrays_s": round(whole_s, 3),
        "earned_base_s": round(base_s, 3),
        "full_base_share": float((base >= 1.0).mean()),
        "components_s": round(comp_s, 3),
        "propagation_s": round(prop_s, 3),
        "bare_kernel_s": round(bare_s, 3),
        "propagation_vs_bare": round(prop_s / bare_s, 2),
        "peak_rss_mb_data": round(rss_data),
        "peak_rss_mb_scoring": round(rss_whole),
        "median_score": float(np.median(result.score)),
        "share_above_90": float((result.score > 90).mean()),
        "top_score": int(result.score.max()),
    }
    print(json.dumps(row))


def networkx_child(path: str, n_users: int) -> None:
    import networkx as nx

    config = ScoringConfig()
    arrays = load(path, n_users)
    facts = AccountFacts.unknown(n_users)
    keep, amount = counted_events(arrays, facts, DEFAULT_NOW, config)
    graph = pair_graph(arrays.actor[keep], arrays.target[keep], amount, n_users, config)
    coo = graph.amount.tocoo()
    edges = list(zip(coo.col.tolist(), coo.row.tolist(), graph.strength.tolist(), strict=True))
    del arrays, keep, amount, coo, graph
    rss_before = peak_rss_mb()

    # nx.pagerank stops when the L1 change of its (sum 1) vector is < N * tol: tol
    # is per node. Our tolerance bounds each member's change relative to (1 + raw),
    # so the L1 change relative to the total is below it too: tol = ours / N gives
    # nx the same L1 stopping point, and our iteration cap.
    alpha = CountingFloat(config.damping)

    def build_and_rank():
        g = nx.DiGraph()
        g.add_nodes_from(range(n_users))
        g.add_weighted_edges_from(edges)
        return nx.pagerank(
            g, alpha=alpha, tol=config.tolerance / n_users, max_iter=config.max_iterations,
            weight="weight",
        )

    try:
        seconds, _ = timed(build_and_rank)
        converged = True
    except nx.PowerIterationFailedConvergence:
        seconds, converged = float("nan"), False
    print(
        json.dumps(
            {
                "networkx_s": round(seconds, 2),
                "networkx_iterations": alpha.multiplications,
                "networkx_converged": converged,
                "networkx_tol": config.tolerance / n_users,
                "networkx_peak_rss_mb": round(peak_rss_mb()),
                "networkx_rss_before_mb": round(rss_before),
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="only 100k members / 1M events")
    parser.add_argument("--no-networkx", action="store_true", help="skip the networkx baseline")
    parser.add_argument(
        "--networkx-large",
        action="store_true",
        help="also run networkx on 1M/10M (slow: minutes and several GB)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print JSON lines only")
    parser.add_argument("--nx-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--score-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.nx_child:
        networkx_child(args.nx_child[0], int(args.nx_child[1]))
        return 0
    if args.score_child:
        score_child(args.score_child[0], int(args.score_child[1]))
        return 0
    sizes = ["small"] if args.small else ["large", "small"]
    print_header(args.json)
    for name in sizes:
        n_users, n_events = SIZES[name]
        run_nx = not args.no_networkx and (name == "small" or args.networkx_large)
        row = bench_size(n_users, n_events, args.seed, run_nx)
        report(row, args.json)
    return 0


def print_header(as_json: bool) -> None:
    if not as_json:
        print(f"cpus={os.cpu_count()} python={sys.version.split()[0]} numpy={np.__version__}")


def report(row: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(row))
        return
    print(f"\n== {row['n_users']:,} members / {row['n_events']:,} events ({row['pairs']:,} pairs)")
    print(f"  generate              {row['generate_s']:8.2f} s")
    print(f"  score_arrays (whole)  {row['score_arrays_s']:8.2f} s")
    its = row["iterations"]
    print(f"  earned base           {row['earned_base_s']:8.2f} s  "
          f"({row['full_base_share']:.0%} of members at the full base)")
    print(f"  propagation           {row['propagation_s']:8.2f} s  ({its} iterations)")
    print(f"  bare scipy kernel     {row['bare_kernel_s']:8.2f} s  (same iterations)")
    print(f"  component labels      {row['components_s']:8.2f} s  (once per rescore, not above)")
    print(f"  propagation / bare    {row['propagation_vs_bare']:8.2f} x  (target <= 2)")
    print(f"  peak RSS: events loaded {row['peak_rss_mb_data']} MB, after scoring "
          f"{row['peak_rss_mb_scoring']} MB")
    if "error" in row:
        print(f"  scoring failed: {row['error']}")
        return
    if "networkx_s" in row:
        done = "converged" if row["networkx_converged"] else "did NOT converge"
        print(f"  networkx build+pagerank {row['networkx_s']:6.2f} s  "
              f"({row['networkx_iterations']} iterations, {done} at tol "
              f"{row['networkx_tol']:.1e} per node; peak RSS {row['networkx_peak_rss_mb']} MB, "
              f"{row['networkx_rss_before_mb']} MB before building the graph)")
        print(f"  networkx / score_arrays {row['networkx_vs_score_arrays']:6.1f} x  (target >= 5)")
    elif "networkx_error" in row:
        print(f"  networkx failed: {row['networkx_error']}")
    print(f"  scores: median {row['median_score']:.0f}, top {row['top_score']}, "
          f"above 90: {row['share_above_90']:.4%}")


if __name__ == "__main__":
    sys.exit(main())
