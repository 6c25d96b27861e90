"""`klout-bot score` end to end against plain networkx, igraph and scipy scripts.

    python bench/bench_score_cli.py                    # Higgs (shared data), 3 rounds
    python bench/bench_score_cli.py --events F.jsonl   # any event JSONL
    python bench/bench_score_cli.py --before DIR       # also an older checkout, e.g.
        # mkdir /tmp/old && git archive main | tar -x -C /tmp/old

Every contender reads the same JSONL file and writes one JSON line per user to a
file, in its own child process: wall time is measured around the child, peak RSS
is the child's own (/usr/bin/time's %M, else wait4). Rounds are interleaved, so a
busy machine slows every contender alike; the median of the rounds is reported.

The baselines are what a careful person would write without us: orjson per line
(the parser `score` uses, so the comparison is of everything else), kind weights
from ScoringConfig, one PageRank, the output sorted by score. They do no
validation, no decay and no saturation. networkx and scipy stop on nx.pagerank's
rule, L1 change < N * tol, with tol = our tolerance / N so the L1 step matches
ours; both report iterations. igraph uses its exact solver (PRPACK).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

HIGGS_NOW = "2012-07-08T00:00:00Z"  # the day after the data's last event
CLI = "import sys; from bot.cli import main; sys.exit(main())"
BASELINES = ("networkx", "igraph", "scipy")


def run_child(cmd: list[str], out: Path, cwd: Path) -> dict:
    """Wall seconds and peak RSS (MB) of one child writing its stdout to `out`.

    Peak RSS from wait4 of the child itself, which this (small) parent starts
    with posix_spawn-like vfork: the figure is the child's own high-water mark."""
    with out.open("wb") as sink:
        start = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.PIPE, cwd=cwd)
        err = child.stderr.read() if child.stderr else b""
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = code = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    row: dict = {"s": seconds, "cpu": cpu, "mb": usage.ru_maxrss / 1024, "exit": code}
    lines = err.decode("utf-8", "replace").strip().splitlines()
    info = [x for x in lines if x.startswith("{")]
    if info:
        row.update(json.loads(info[-1]))
    elif code != 0:
        row["error"] = lines[-3:]
    return row


def contenders(events: Path, now: str, before: Path | None) -> dict[str, tuple[list[str], Path]]:
    score = [sys.executable, "-c", CLI, "score", str(events), "--now", now]
    out = {"klout-bot score": (score, ROOT)}
    if before is not None:
        out["score (before)"] = (score, before)
    params = model_params()
    for name in BASELINES:
        out[name] = ([sys.executable, __file__, "--baseline", name, str(events), params], ROOT)
    return out


def model_params() -> str:
    """Kind weights, damping and tolerance for the baselines, read in a child: this
    parent stays small, because a child started from it (vfork + exec) reports at
    least the parent's peak RSS as its own, and the baselines need no scoring import."""
    code = (
        "import json; from scoring import ScoringConfig; c = ScoringConfig(); print(json.dumps("
        "{'weights': {k.label: w for k, w in c.weights.items()}, 'damping': c.damping, "
        "'tolerance': c.tolerance, 'max_iterations': c.max_iterations}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


# --- the baseline scripts (run as children) --------------------------------------------


def read_edges(path: str, weights: dict[str, float]):
    """(ids, source, target, weight) from event JSONL, as a plain script would."""
    import numpy as np
    import orjson

    index: dict[str, int] = {}
    source: list[int] = []
    target: list[int] = []
    weight: list[float] = []
    with open(path, "rb") as handle:
        for line in handle:
            event = orjson.loads(line)
            to = event.get("target")
            kind = event.get("kind")
            if to is None or kind == "profile":
                continue
            source.append(index.setdefault(event["actor"], len(index)))
            target.append(index.setdefault(to, len(index)))
            weight.append(weights.get(kind, 0.0) * event.get("weight", 1.0))
    return list(index), np.array(source), np.array(target), np.array(weight)


def write_scores(ids: list[str], rank) -> None:
    import numpy as np
    import orjson

    out = sys.stdout.buffer
    for i in np.argsort(-rank, kind="stable").tolist():
        out.write(orjson.dumps({"user": ids[i], "score": float(rank[i])}) + b"\n")


def baseline(name: str, path: str, params: str) -> None:
    from types import SimpleNamespace

    import numpy as np

    config = SimpleNamespace(**json.loads(params))
    ids, source, target, weight = read_edges(path, config.weights)
    n = len(ids)
    info: dict = {}
    if name == "igraph":
        import igraph

        edges = list(zip(source.tolist(), target.tolist(), strict=True))
        graph = igraph.Graph(n=n, edges=edges, directed=True)
        rank = np.array(graph.pagerank(weights=weight.tolist(), damping=config.damping))
    elif name == "networkx":
        import networkx as nx
        from nx_count import CountingFloat

        pairs: dict[tuple[int, int], float] = {}
        for a, b, w in zip(source.tolist(), target.tolist(), weight.tolist(), strict=True):
            pairs[a, b] = pairs.get((a, b), 0.0) + w
        graph = nx.DiGraph()
        graph.add_nodes_from(range(n))
        graph.add_weighted_edges_from((a, b, w) for (a, b), w in pairs.items())
        alpha = CountingFloat(config.damping)
        result = nx.pagerank(
            graph, alpha=alpha, tol=config.tolerance / n, max_iter=config.max_iterations
        )
        rank = np.array([result[i] for i in range(n)])
        info["iterations"] = alpha.multiplications
    else:
        rank, info["iterations"], info["l1_step"] = scipy_pagerank(
            source, target, weight, n, config.damping, config.tolerance, config.max_iterations
        )
    write_scores(ids, rank)
    sys.stderr.write(json.dumps(info) + "\n")


def scipy_pagerank(source, target, weight, n, damping, tol, max_iter):
    """nx.pagerank's algorithm and stopping rule, vectorised."""
    import numpy as np
    import scipy.sparse as sp

    matrix = sp.csr_array((weight, (source, target)), shape=(n, n))
    out = np.asarray(matrix.sum(axis=1)).ravel()
    dangling = out == 0
    scale = np.divide(1.0, out, out=np.zeros(n), where=~dangling)
    transfer = (sp.diags_array(scale) @ matrix).T.tocsr()
    x = np.full(n, 1.0 / n)
    for iteration in range(1, max_iter + 1):
        new = damping * (transfer @ x + x[dangling].sum() / n) + (1 - damping) / n
        step = float(np.abs(new - x).sum())
        x = new
        if step < tol:
            return x, iteration, step
    return x, max_iter, step


# --- our own convergence figures ---------------------------------------------------------


def our_convergence(events: Path, now: str) -> dict:
    """Iterations and residual of the propagation `score` runs on this file."""
    import numpy as np

    from bot.cli_score import parse_now
    from scoring import ScoringConfig, score_arrays
    from scoring.engine import counted_events
    from scoring.jsonl import read_table
    from scoring.propagation import (
        activity_base,
        actor_ceiling,
        components,
        endorser_weight,
        member_base,
        pair_graph,
        solve,
        transfer_matrix,
    )

    config = ScoringConfig()
    with events.open("rb") as handle:
        table, _ = read_table(handle)
    _, _, arrays, facts = table.inputs()
    now_s = parse_now(now).timestamp()
    result = score_arrays(arrays, facts, now_s, config)
    # One step on from the fixed point score returned: how far it would still move.
    keep, amount = counted_events(arrays, facts, now_s, config)
    actor, target = arrays.actor[keep], arrays.target[keep]
    graph = pair_graph(actor, target, amount, arrays.n_users, config)
    distinct = np.diff(graph.amount.indptr).astype(np.int64)
    base = member_base(
        actor, target, arrays.ts[keep], distinct, arrays.n_users, now_s, config, facts.created
    )
    # The map the engine's second pass iterates: its base includes the activity base
    # from the first pass, and the distinct-actor ceiling bounds each raw.
    matrix = transfer_matrix(graph)
    ceiling = actor_ceiling(distinct, config)
    first = solve(matrix, config, base, ceiling=ceiling, labels=components(matrix))
    base = np.maximum(base, activity_base(graph, first.raw, config))
    raw = result.propagated
    step = np.minimum(matrix @ endorser_weight(raw, config, base=base), ceiling) - raw
    return {
        "iterations": result.iterations,
        "converged": result.converged,
        "tolerance": config.tolerance,
        "max_relative_step": float((np.abs(step) / (raw + 1.0)).max()),
        "relative_l1_step": float(np.abs(step).sum() / max(float(raw.sum()), 1e-300)),
    }


# --- the driver ----------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=Path, help="event JSONL (default: Higgs, converted)")
    parser.add_argument("--now", default=HIGGS_NOW)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=Path, help="also time `score` from this checkout")
    parser.add_argument("--only", help="comma-separated contenders (default: all)")
    parser.add_argument("--baseline", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        baseline(*args.baseline)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        events = args.events
        if events is None:
            from realdata import HIGGS_PATH

            if not HIGGS_PATH.exists():
                print(f"skipped: {HIGGS_PATH} not found")
                return 0
            events = Path(tmp) / "higgs.jsonl"
            # In a child, so this parent stays small (see model_params).
            convert = [sys.executable, str(ROOT / "bench" / "realdata.py"), "higgs", str(events)]
            done = subprocess.run(convert, capture_output=True, text=True, check=True)
            print(done.stdout.strip())
        runs = contenders(events, args.now, args.before)
        if args.only:
            runs = {k: v for k, v in runs.items() if k in args.only.split(",")}
        results: dict[str, list[dict]] = {name: [] for name in runs}
        for _ in range(args.rounds):
            for name, (cmd, cwd) in runs.items():
                results[name].append(run_child(cmd, Path(tmp) / "out.jsonl", cwd))
        report(results, our_convergence(events, args.now))
    return 0


def report(results: dict[str, list[dict]], ours: dict) -> None:
    rounds = len(next(iter(results.values())))
    print(f"cpus={os.cpu_count()} python={sys.version.split()[0]}; median of {rounds} "
          "interleaved rounds; CPU = user + system seconds (steadier on a shared machine)")
    medians: dict[str, tuple[float, float]] = {}
    for name, rows in results.items():
        if any(r["exit"] != 0 for r in rows):
            print(f"  {name:16} failed: {rows[-1].get('error')}")
            continue
        wall = statistics.median(r["s"] for r in rows)
        cpu = statistics.median(r["cpu"] for r in rows)
        medians[name] = (wall, cpu)
        peak = max(r["mb"] for r in rows)
        extra = f"  {rows[-1]['iterations']} iterations" if "iterations" in rows[-1] else ""
        walls = ", ".join(f"{r['s']:.2f}" for r in rows)
        print(f"  {name:16} {wall:6.2f} s wall  {cpu:6.2f} s CPU  {peak:5.0f} MB peak RSS"
              f"{extra}  (wall per round: {walls})")
    ours_s = medians.get("klout-bot score")
    if ours_s:
        for name, (wall, cpu) in medians.items():
            if name != "klout-bot score":
                print(f"  {name} / score: {wall / ours_s[0]:.2f}x wall, "
                      f"{cpu / ours_s[1]:.2f}x CPU")
    print(f"  score's propagation: {ours['iterations']} iterations (converged: "
          f"{ours['converged']}, tolerance {ours['tolerance']:g}); one more step moves a "
          f"member by at most {ours['max_relative_step']:.2e} of (1 + raw), "
          f"{ours['relative_l1_step']:.2e} of the total (L1)")


if __name__ == "__main__":
    sys.exit(main())
