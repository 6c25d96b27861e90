"""End-to-end rescore of what the bot has stored, against networkx and a bare kernel.

    python bench/bench_rescore.py                   # 1M members / 10M events, then 100k / 1M
    python bench/bench_rescore.py --small           # 100k / 1M only
    python bench/bench_rescore.py --no-networkx-large  # skip networkx at 1M / 10M (~1 min, ~3 GB)
    python bench/bench_rescore.py --keep DIR        # keep the loaded databases in DIR and
                                                    # reuse them next time (setup is slow)
    python bench/bench_rescore.py --history-days 0  # skip the "30 days of history" runs

Setup (not timed, but reported): a synthetic power-law community
(scoring.synthetic.power_law_community) is stored in a real SQLite file with the
bot's own schema (bot.storage migrations), bulk-loaded with sqlite3 executemany
in timestamp order, the way events arrive. A few accounts are bots, some have
audience facts, and 0.1% of events carry a weight other than 1.

Then each measurement runs in its own child process, so every peak RSS (VmHWM)
is that measurement's own, all on the same graph in the same run:
- the rescore exactly as the bot runs it (bot.services.rescore.Rescorer.rescore):
  read from SQLite, account facts, aggregate, propagate, map to 1..100, write back
  scores, ranks, the history and the rescore state. Two scenarios:
  * fresh: a first rescore of an empty scores table, again an hour later, and the
    next day;
  * with history (--history-days, default 30): the bot rescored yesterday and
    every member already holds 30 days of history (a row per day their score
    changed, with --history-churn of them changing each day). Then the first
    rescore of the new day, again an hour later, and the day after.
- the in-memory kernel on the same graph: the propagation alone and a bare
  scipy.sparse power iteration on the pre-built matrix, same iteration count.
- networkx: building the nx.DiGraph from the same aggregated pairs, then
  nx.pagerank (at both sizes unless --no-networkx-large / --no-networkx).
The load average of the machine is printed before and after each size.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_kernel import bare_kernel, peak_rss_mb  # noqa: E402

from scoring import AccountFacts, InteractionArrays, ScoringConfig, score_arrays  # noqa: E402
from scoring.engine import counted_events  # noqa: E402
from scoring.propagation import member_base, pair_graph, solve, transfer_matrix  # noqa: E402
from scoring.synthetic import DEFAULT_NOW, power_law_community  # noqa: E402

SIZES = {"large": (1_000_000, 10_000_000), "small": (100_000, 1_000_000)}
PLATFORM, COMMUNITY = "discord", "bench"
HOUR, DAY = 3_600, 86_400
BOT_SHARE, AUDIENCE_SHARE, WEIGHTED_SHARE = 0.001, 0.05, 0.001
RUNS = (("first", 0), ("again +1h", HOUR), ("next day", DAY))


# ---------------------------------------------------------------------------
# Setup: a stored community.


def stored_community(n_users: int, n_events: int, seed: int) -> dict[str, np.ndarray]:
    """The synthetic community as the bot would store it: account ids 1..n, integer
    seconds, target 0 for none, plus account facts and a few weighted events."""
    arrays = power_law_community(n_users, n_events, seed=seed)
    rng = np.random.default_rng(seed + 1)
    order = np.argsort(arrays.ts, kind="stable")  # events arrive in time order
    weight = np.ones(n_events)
    weighted = rng.random(n_events) < WEIGHTED_SHARE
    weight[weighted] = rng.choice([0.5, 2.0, 3.0], int(weighted.sum()))
    followers = np.where(rng.random(n_users) < AUDIENCE_SHARE,
                         np.floor(rng.lognormal(5, 2, n_users)), -1).astype(np.int64)
    return {
        "actor": arrays.actor[order].astype(np.int64) + 1,
        "target": np.where(arrays.target < 0, 0, arrays.target.astype(np.int64) + 1)[order],
        "kind": arrays.kind[order],
        "ts": np.floor(arrays.ts[order]).astype(np.int64),
        "weight": weight,
        "is_bot": rng.random(n_users) < BOT_SHARE,
        "followers": followers,
    }


def build_db(path: Path, data: dict[str, np.ndarray]) -> dict[str, float]:
    from bot.storage import Storage

    async def migrate() -> None:
        async with Storage(path):
            pass

    started = time.perf_counter()
    asyncio.run(migrate())
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")  # a bulk load; the layout is what matters
    n_users = len(data["is_bot"])
    ids = range(1, n_users + 1)
    followers = [None if f < 0 else f for f in data["followers"].tolist()]
    with conn:
        conn.execute("INSERT INTO communities (id, platform, external_id, name) "
                     "VALUES (1, ?, ?, 'Bench')", (PLATFORM, COMMUNITY))
        conn.executemany(
            "INSERT INTO accounts (id, platform, external_id, display_name, is_bot, followers, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            zip(ids, itertools.repeat(PLATFORM), (str(10**17 + i) for i in ids),
                (f"member{i}" for i in ids), data["is_bot"].astype(int).tolist(), followers,
                itertools.repeat(int(DEFAULT_NOW)), strict=False))
        conn.executemany(
            "INSERT INTO members (community_id, account_id, display_name, last_seen) "
            "VALUES (1, ?, NULL, ?)", zip(ids, itertools.repeat(int(DEFAULT_NOW))))
    accounts_s = time.perf_counter() - started
    n_events = len(data["actor"])
    with conn:
        conn.executemany(
            "INSERT INTO events (community_id, kind, actor_id, target_id, ts, channel, source, "
            "weight) VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
            zip(data["kind"].tolist(), data["actor"].tolist(), data["target"].tolist(),
                data["ts"].tolist(), (f"c{i % 40}" for i in range(n_events)),
                (str(2 * 10**17 + i) for i in range(n_events)), data["weight"].tolist(),
                strict=True))
    conn.close()
    total = time.perf_counter() - started
    return {"setup_accounts_s": accounts_s, "setup_events_s": total - accounts_s,
            "setup_s": total, "db_mb": path.stat().st_size / 2**20}


def add_history(path: Path, n_users: int, days: int, churn: float, before_day: int) -> int:
    """`days` days of sparse history before `before_day` for every member, as the bot
    stores it: a row on a member's first day and on each day their score moved (a share
    `churn` of members each day). Returns the rows added."""
    from scoring.config import MODEL_VERSION

    rng = np.random.default_rng(0)
    score = rng.integers(1, 60, n_users)
    accounts, day_of, values = [], [], []
    for d in range(days):
        moved = np.ones(n_users, dtype=bool) if d == 0 else rng.random(n_users) < churn
        if d:
            step = rng.integers(1, 3, int(moved.sum())) * rng.choice([-1, 1], int(moved.sum()))
            score[moved] = np.clip(score[moved] + step, 1, 100)
        accounts.append(np.flatnonzero(moved) + 1)
        day_of.append(np.full(int(moved.sum()), before_day - days + d))
        values.append(score[moved].copy())
    account = np.concatenate(accounts)
    day = np.concatenate(day_of)
    value = np.concatenate(values)
    order = np.lexsort((day, account))  # primary-key order, as an append
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    with conn:
        conn.executemany(
            "INSERT INTO score_history (community_id, account_id, day, score, model_version) "
            "VALUES (1, ?, ?, ?, ?)",
            zip(account[order].tolist(), day[order].tolist(), value[order].tolist(),
                itertools.repeat(MODEL_VERSION), strict=False))
    conn.close()
    return len(order)


# ---------------------------------------------------------------------------
# Children: each prints one JSON object.


def rescore_child(db: str, now: float) -> None:
    from bot.services.rescore import Rescorer
    from bot.storage import Storage

    async def run() -> dict[str, object]:
        async with Storage(db) as store:
            comm = await store.communities.get(PLATFORM, COMMUNITY)
            if comm is None:
                raise SystemExit(f"{db} holds no {PLATFORM}/{COMMUNITY} community")
            rss_start = peak_rss_mb()
            cpu = cpu_seconds()
            result = await Rescorer(store, ScoringConfig()).rescore(comm.id, now)
            cpu = cpu_seconds() - cpu
            # The WAL checkpoint of the rescore's pages runs after its commit, off the
            # write lock: timed on its own (whatever of it ran before `rescore` returned
            # is already in the rescore's CPU).
            started, checkpoint_cpu = time.perf_counter(), cpu_seconds()
            await store.db.settle()
            checkpoint = (time.perf_counter() - started, cpu_seconds() - checkpoint_cpu)
            written = await store.db.fetchone(
                "SELECT count(*) FROM score_history WHERE community_id = ? AND day = ?",
                (comm.id, int(now) // DAY))
            total = await store.db.fetchone("SELECT count(*) FROM score_history")
            return {"stages": result.stages, "stage_cpu": result.cpu,
                    "checkpoint_s": checkpoint[0], "checkpoint_cpu_s": checkpoint[1],
                    "load": os.getloadavg()[0], "total_s": result.seconds,
                    "members": result.members, "events": result.events,
                    "converged": result.converged, "rss_start_mb": rss_start,
                    "peak_rss_mb": peak_rss_mb(),
                    "cpu_s": cpu,
                    "history_rows_today": int(written[0]) if written else 0,
                    "history_rows": int(total[0]) if total else 0}

    print(json.dumps(asyncio.run(run())))


def load_graph(path: str) -> tuple[InteractionArrays, AccountFacts]:
    """The stored events as the rescore sees them: accounts that appear, in id order."""
    with np.load(path) as data:
        actor, target = data["actor"], data["target"]
        ids, inverse = np.unique(np.concatenate([actor, target[target > 0]]),
                                 return_inverse=True)
        m = len(actor)
        dense_target = np.full(m, -1, dtype=np.int64)
        dense_target[target > 0] = inverse[m:]
        facts = AccountFacts.unknown(len(ids))
        facts.is_bot[:] = data["is_bot"][ids - 1]
        followers = data["followers"][ids - 1].astype(np.float64)
        facts.followers[:] = np.where(followers < 0, np.nan, followers)
        arrays = InteractionArrays(inverse[:m], dense_target, data["kind"],
                                   data["ts"].astype(np.float64), len(ids), data["weight"])
    return arrays, facts


def kernel_child(path: str, now: float) -> None:
    config = ScoringConfig()
    arrays, facts = load_graph(path)
    started = time.perf_counter()
    score_arrays(arrays, facts, now, config)
    in_memory_s = time.perf_counter() - started
    keep, amount = counted_events(arrays, facts, now, config)
    actor, target = np.asarray(arrays.actor)[keep], np.asarray(arrays.target)[keep]
    graph = pair_graph(actor, target, amount, arrays.n_users, config)
    matrix = transfer_matrix(graph)
    # The model's own formula: propagation from the trust-weighted earned base, exactly as
    # score_arrays runs it (the base is part of the aggregate stage there, not timed here).
    fans = np.diff(graph.amount.indptr).astype(np.int64)
    base = member_base(actor, target, np.asarray(arrays.ts, dtype=np.float64)[keep], fans,
                       arrays.n_users, now, config)
    best_prop, best_bare, iterations = float("inf"), float("inf"), 0
    for _ in range(3):
        started = time.perf_counter()
        fixed = solve(matrix, config, base)
        best_prop = min(best_prop, time.perf_counter() - started)
        iterations = fixed.iterations
        started = time.perf_counter()
        bare_kernel(matrix, config.damping, iterations, config.tolerance)
        best_bare = min(best_bare, time.perf_counter() - started)
    print(json.dumps({"score_arrays_s": in_memory_s, "propagation_s": best_prop,
                      "bare_kernel_s": best_bare, "iterations": iterations,
                      "pairs": int(matrix.nnz), "peak_rss_mb": peak_rss_mb()}))


def networkx_child(path: str, now: float) -> None:
    import networkx as nx

    config = ScoringConfig()
    arrays, facts = load_graph(path)
    keep, amount = counted_events(arrays, facts, now, config)
    graph = pair_graph(np.asarray(arrays.actor)[keep], np.asarray(arrays.target)[keep],
                       amount, arrays.n_users, config)
    coo = graph.amount.tocoo()
    edges = list(zip(coo.col.tolist(), coo.row.tolist(), graph.strength.tolist(), strict=True))
    n_users = arrays.n_users
    del arrays, keep, amount, coo, graph
    rss_before = peak_rss_mb()
    cpu = cpu_seconds()
    started = time.perf_counter()
    g = nx.DiGraph()
    g.add_nodes_from(range(n_users))
    g.add_weighted_edges_from(edges)
    nx.pagerank(g, alpha=config.damping, tol=1e-6, weight="weight")
    print(json.dumps({"networkx_s": time.perf_counter() - started,
                      "networkx_cpu_s": cpu_seconds() - cpu,
                      "peak_rss_mb": peak_rss_mb(), "rss_before_mb": rss_before}))


def cpu_seconds() -> float:
    """CPU time of this process, every thread, user and system. On a shared machine it
    moves far less with the load than wall time does, so both are reported."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(flag: str, *args: object) -> dict:
    cmd = [sys.executable, __file__, flag, *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=3600)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(proc.stdout)


# ---------------------------------------------------------------------------


HISTORY_RUNS = (("new day", 0), ("again +1h", HOUR), ("next day", DAY))


def bench_size(name: str, seed: int, run_nx: bool, keep: Path | None,
               history_days: int, churn: float) -> dict:
    n_users, n_events = SIZES[name]
    row: dict = {"n_users": n_users, "n_events": n_events, "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store = keep or work
        base = store / f"rescore-{name}-{seed}.db"
        graph = store / f"rescore-{name}-{seed}.npz"
        if not (base.exists() and graph.exists()):
            started = time.perf_counter()
            data = stored_community(n_users, n_events, seed)
            row["generate_s"] = time.perf_counter() - started
            base.unlink(missing_ok=True)
            row.update(build_db(base, data))
            np.savez(graph, **data)
            del data
        else:
            row["reused"] = str(base)
        row["db_mb"] = base.stat().st_size / 2**20
        db = work / "fresh.db"
        shutil.copyfile(base, db)  # leave the base pristine for the next scenario and run
        row["runs"] = {label: child("--rescore-child", db, DEFAULT_NOW + later)
                       for label, later in RUNS}
        db.unlink()
        if history_days:
            db = work / "history.db"
            shutil.copyfile(base, db)
            started = time.perf_counter()
            row["yesterday"] = child("--rescore-child", db, DEFAULT_NOW - DAY)
            today = int(DEFAULT_NOW) // DAY
            row["history_added"] = add_history(db, n_users, history_days, churn, today - 1)
            row["history_setup_s"] = time.perf_counter() - started
            row["history_days"], row["history_churn"] = history_days, churn
            row["history_runs"] = {label: child("--rescore-child", db, DEFAULT_NOW + later)
                                   for label, later in HISTORY_RUNS}
            db.unlink()
        row["kernel"] = child("--kernel-child", graph, DEFAULT_NOW)
        if run_nx:
            row["networkx"] = child("--nx-child", graph, DEFAULT_NOW)
    row["load_after"] = os.getloadavg()
    return row


STAGES = ("read", "facts", "aggregate", "propagate", "map", "write")


def report(row: dict) -> None:
    print(f"\n== {row['n_users']:,} members / {row['n_events']:,} stored events "
          f"(database {row['db_mb']:,.0f} MB)")
    print("  load average (1/5/15 min) before: {:.2f} {:.2f} {:.2f}, after: "
          "{:.2f} {:.2f} {:.2f}".format(*row["load_before"], *row["load_after"]))
    if "setup_s" in row:
        print(f"  setup (not timed): generate {row['generate_s']:.1f} s, load accounts and "
              f"members {row['setup_accounts_s']:.1f} s, load events {row['setup_events_s']:.1f} s")
    else:
        print(f"  setup: reused {row['reused']}")
    kernel, nx_row = row["kernel"], row.get("networkx")
    nx_s = nx_row.get("networkx_s") if nx_row else None
    nx_cpu = nx_row.get("networkx_cpu_s") if nx_row else None
    bare = kernel.get("bare_kernel_s")
    if "error" in kernel:
        print(f"  kernel child failed: {kernel['error']}")
    else:
        print(f"  in memory, same graph ({kernel['pairs']:,} pairs, {kernel['iterations']} "
              f"iterations): score_arrays {kernel['score_arrays_s']:.2f} s, propagation "
              f"{kernel['propagation_s']:.2f} s, bare scipy kernel {bare:.2f} s "
              f"(best of 3 each: {kernel['propagation_s'] / bare:.2f}x; peak RSS "
              f"{kernel['peak_rss_mb']:.0f} MB)")
    if nx_row is None:
        print("  networkx: not run at this size")
    elif "error" in nx_row:
        print(f"  networkx failed: {nx_row['error']}")
    else:
        print(f"  networkx, build DiGraph + pagerank: {nx_s:.2f} s, CPU {nx_cpu:.2f} s (peak RSS "
              f"{nx_row['peak_rss_mb']:.0f} MB, {nx_row['rss_before_mb']:.0f} MB before "
              f"building); {nx_s / kernel['score_arrays_s']:.1f}x score_arrays in memory")
    header = "  " + f"{'run':<22}" + "".join(f"{s:>10}" for s in STAGES) + (
        f"{'total':>9}{'CPU':>8}{'peak RSS':>10}{'nx/total':>9}{'nx/CPU':>8}{'prop/bare':>10}"
        f"{'hist rows':>11}{'ckpt after':>12}{'load':>6}")
    scenarios = [("fresh (empty scores table)", row["runs"])]
    if row.get("history_runs"):
        print(f"  history: rescored yesterday, then {row['history_added']:,} rows of "
              f"{row['history_days']} earlier days added ({row['history_churn']:.0%} of members "
              f"move each day), setup {row['history_setup_s']:.1f} s (not timed)")
        scenarios.append((f"{row['history_days']} days of history", row["history_runs"]))
    for title, runs in scenarios:
        print(f"  -- {title}")
        print(header)
        for label, run in runs.items():
            if "error" in run:
                print(f"  {label:<22} failed: {run['error']}")
                continue
            cells = "".join(f"{run['stages'].get(s, 0):9.2f}s" for s in STAGES)
            ratio = f"{nx_s / run['total_s']:8.1f}x" if nx_s else f"{'-':>9}"
            cpu_ratio = f"{nx_cpu / run['cpu_s']:7.1f}x" if nx_cpu else f"{'-':>8}"
            prop = f"{run['stages']['propagate'] / bare:9.2f}x" if bare else f"{'-':>10}"
            print(f"  {label:<22}{cells}{run['total_s']:8.2f}s{run['cpu_s']:7.2f}s"
                  f"{run['peak_rss_mb']:7.0f} MB{ratio}{cpu_ratio}{prop}"
                  f"{run['history_rows_today']:>11,}"
                  f"{run['checkpoint_s']:6.2f}/{run['checkpoint_cpu_s']:.2f}s{run['load']:6.1f}")
            print(f"  {'  CPU per stage':<22}" + "".join(
                f"{run['stage_cpu'].get(s, 0):9.2f}s" for s in STAGES))
    every = [r for _, runs in scenarios for r in runs.values() if "total_s" in r]
    worst = max((r["total_s"] for r in every), default=0.0)
    worst_rss = max((r["peak_rss_mb"] for r in every), default=0.0)
    first = row["runs"]["first"]
    if "events" in first:
        print(f"  scored {first['members']:,} members from {first['events']:,} events, "
              f"converged: {first['converged']}")
    print(f"  worst end-to-end {worst:.2f} s (target <= 15), peak RSS {worst_rss:.0f} MB "
          f"(target < 2048)" + (f", networkx / worst {nx_s / worst:.1f}x (target >= 5)"
                                if nx_s and worst else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="only 100k members / 1M events")
    parser.add_argument("--no-networkx", action="store_true", help="skip the networkx baseline")
    parser.add_argument("--no-networkx-large", action="store_true",
                        help="skip networkx on 1M/10M (about a minute and 3 GB)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the loaded databases here and reuse them")
    parser.add_argument("--history-days", type=int, default=30, metavar="N",
                        help="days of history members hold in the second scenario (0: skip)")
    parser.add_argument("--history-churn", type=float, default=0.25, metavar="P",
                        help="share of members whose score moves on each of those days")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print JSON lines only")
    parser.add_argument("--rescore-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--kernel-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--nx-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    for flag, fn in (("rescore_child", rescore_child), ("kernel_child", kernel_child),
                     ("nx_child", networkx_child)):
        value = getattr(args, flag)
        if value:
            fn(value[0], float(value[1]))
            return 0
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    if not args.json:
        print(f"cpus={os.cpu_count()} python={sys.version.split()[0]} numpy={np.__version__} "
              f"sqlite={sqlite3.sqlite_version}")
    for name in ["small"] if args.small else ["large", "small"]:
        run_nx = not args.no_networkx and (name == "small" or not args.no_networkx_large)
        row = bench_size(name, args.seed, run_nx, args.keep, args.history_days,
                         args.history_churn)
        if args.json:
            print(json.dumps(row))
        else:
            report(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
