"""The rescore's storage paths (migration 0006, bot/storage/bulk.py) against the pure core.

What the bot stores and rescores must give exactly what scoring.engine.score_events
gives on the same raw events, before and after deletions, whichever read path runs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from bot.services.rescore import Rescorer
from bot.services.rescore_worker import RescoreWorker
from bot.storage import EventRow, Storage, bulk
from bot.storage.rescore_writes import ROWS_PER_STATEMENT, ScoreTable, write_rescore
from scoring import MODEL_VERSION, Interaction, Kind, Profile, ScoringConfig, score_events

NOW = 1_793_491_200  # 2026-11-01T00:00:00Z
DAY = 86_400
CONFIG = ScoringConfig()
WINDOW = int(CONFIG.window_days * DAY)


@dataclass
class World:
    store: Storage
    community: int
    other: int
    rows: list[EventRow]
    bots: set[int]
    audience: dict[int, tuple[int | None, int | None]]
    created: dict[int, int]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """60 accounts, ~2,000 events of every kind, some self-actions, bots, audience facts,
    weights that are not 1 (one with no short decimal form), events outside the window and
    after `now`, and a second community sharing the accounts."""
    rng = np.random.default_rng(7)
    async with Storage(tmp_path / "rescore.db") as store:
        comm = (await store.communities.ensure("discord", "g1")).id
        other = (await store.communities.ensure("discord", "g2")).id
        ids = [await store.accounts.ensure("discord", f"u{i}", display_name=f"U{i}")
               for i in range(60)]
        bots = {ids[3], ids[17]}
        for b in bots:
            await store.accounts.ensure("discord", f"u{ids.index(b)}", is_bot=True)
        audience: dict[int, tuple[int | None, int | None]] = {
            ids[0]: (50_000, 12), ids[5]: (300, None), ids[9]: (None, 4), ids[17]: (10, 1)}
        for account, (followers, listed) in audience.items():
            await store.accounts.set_audience(account, followers, listed)
        # Creation times for two thirds of the accounts: years old, days old, one after now.
        created = {a: NOW - int(rng.integers(-DAY, 2_000 * DAY)) // (1 if i % 2 else 200)
                   for i, a in enumerate(ids) if i % 3}
        for account, when in created.items():
            await store.accounts.ensure("discord", f"u{ids.index(account)}", created_at=when)
        # Heavy-tailed: a few members receive most of the attention.
        appeal = rng.pareto(1.2, len(ids)) + 1
        appeal /= appeal.sum()
        weights = [1.0] * 30 + [0.5, 2.0, 1 / 3, 0.0, 5000.0]
        rows = []
        for i in range(2_000):
            kind = int(rng.integers(0, len(Kind)))
            actor = int(rng.choice(ids))
            target = 0 if kind == Kind.MESSAGE else int(rng.choice(ids, p=appeal))
            ts = NOW - int(rng.integers(-2 * DAY, 100 * DAY))
            weight = float(weights[int(rng.integers(0, len(weights)))])
            community = other if i % 10 == 0 else comm
            rows.append(EventRow(community, kind, actor, target, ts, f"c{i % 3}", f"m{i}",
                                 weight))
        # Accounts first seen yesterday, where a creation time decides their base: years
        # old, days old, unknown, and (clock skew) after now.
        for k, age in enumerate((3 * 365 * DAY, 3 * DAY, None, -DAY)):
            new = await store.accounts.ensure("discord", f"n{k}", display_name=f"N{k}",
                                              created_at=None if age is None else NOW - age)
            if age is not None:
                created[new] = NOW - age
            for j in range(4):
                rows.append(EventRow(comm, int(Kind.REPLY), ids[20 + j], new, NOW - DAY,
                                     "c", f"n{k}-{j}"))
                rows.append(EventRow(comm, int(Kind.REPLY), new, ids[30 + j], NOW - DAY,
                                     "c", f"n{k}-back{j}"))
        # Edges of the window, exactly.
        rows.append(EventRow(comm, int(Kind.REPLY), ids[1], ids[2], NOW - WINDOW, "c", "edge0"))
        rows.append(EventRow(comm, int(Kind.REPLY), ids[2], ids[1], NOW, "c", "edge1"))
        await store.events.add_many(rows)
        yield World(store, comm, other, rows, bots, audience, created)


def reference(world: World, now: int = NOW) -> dict[int, tuple[int, float, float]]:
    """account id -> (score, raw, give_rate) from score_events on the raw rows.

    Ids are zero-padded so score_events' sorted string ids index users in the same
    order as the rescore's sorted account ids: the sums then run in the same order
    and raw matches bit for bit, not just approximately.
    """
    def name(account: int) -> str:
        return f"{account:09d}"

    rows = [r for r in world.rows
            if r.community_id == world.community and now - WINDOW <= r.ts <= now]
    events = [Interaction(name(r.actor_id), name(r.target_id) if r.target_id else None,
                          Kind(r.kind), float(r.ts), weight=r.weight) for r in rows]
    present = {r.actor_id for r in rows} | {r.target_id for r in rows if r.target_id}
    profiles = [Profile(name(a), bot=a in world.bots,
                        followers=world.audience.get(a, (None, None))[0],
                        listed=world.audience.get(a, (None, None))[1],
                        created=world.created.get(a))
                for a in sorted(present)]
    scored = score_events(events, profiles, now, CONFIG)
    return {int(s.user): (s.score, s.raw, s.give_rate) for s in scored}


async def stored(world: World) -> dict[int, tuple[int, float, float, int]]:
    rows = await world.store.db.fetchall(
        "SELECT account_id, score, raw, give_rate, rank FROM scores WHERE community_id = ?",
        (world.community,))
    return {int(r[0]): (int(r[1]), float(r[2]), float(r[3]), int(r[4])) for r in rows}


async def assert_matches_reference(world: World, now: int = NOW,
                                   rescorer: Rescorer | None = None) -> None:
    await (rescorer or Rescorer(world.store, CONFIG)).rescore(world.community, now)
    want = reference(world, now)
    got = await stored(world)
    assert set(got) == set(want)
    assert {a: got[a][:3] for a in got} == want
    # Ranks: highest raw first, ties by account id, 1..n without gaps.
    by_rank = sorted(got, key=lambda a: got[a][3])
    assert by_rank == sorted(got, key=lambda a: (-got[a][1], a))
    assert [got[a][3] for a in by_rank] == list(range(1, len(got) + 1))


async def test_rescore_equals_scoring_the_raw_events(world: World) -> None:
    await assert_matches_reference(world)
    got = await stored(world)
    assert not world.bots & set(got), "bots neither give nor receive: no score row"
    assert len(set(s for s, *_ in got.values())) > 5, "a spread of scores, not a flat line"


async def test_rescore_as_of_an_earlier_moment(world: World) -> None:
    await assert_matches_reference(world, NOW - 20 * DAY)


async def test_removed_reaction_and_message_stay_consistent(world: World) -> None:
    await assert_matches_reference(world)
    reaction = next(r for r in world.rows if r.community_id == world.community
                    and r.kind == Kind.REACTION and r.target_id and r.weight == 1.0
                    and r.ts <= NOW)
    removed = await world.store.events.remove_source(
        world.community, reaction.source, kind=reaction.kind, actor_id=reaction.actor_id)
    assert removed == 1
    weighted = next(r for r in world.rows if r.community_id == world.community
                    and r.weight == 1 / 3 and r.ts <= NOW)
    assert await world.store.events.remove_source(world.community, weighted.source) == 1
    gone = {reaction.source, weighted.source}
    world.rows = [r for r in world.rows
                  if not (r.community_id == world.community and r.source in gone)]
    await assert_matches_reference(world)


async def test_forgotten_member_leaves_no_trace_in_scores(world: World) -> None:
    await assert_matches_reference(world)
    top = min((await stored(world)).items(), key=lambda kv: kv[1][3])[0]
    await world.store.db.execute(
        "DELETE FROM events WHERE actor_id = ? OR target_id = ?", (top, top))
    world.rows = [r for r in world.rows if top not in (r.actor_id, r.target_id)]
    await assert_matches_reference(world)
    assert top not in await stored(world)


async def test_read_paths_agree(world: World) -> None:
    """Every read path, and a packed read split into tiny chunks (a chunk too big for
    SQLite's string limit halves until it fits), return the same events."""
    since, until = NOW - WINDOW, NOW
    conn = sqlite3.connect(world.store.db.path)
    try:
        graphs = every_read_path(conn, world, since, until)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 200)
        graphs += [bulk.load_window(conn, world.community, since, until, read=path)
                   for path in ("one-value", "two-values")]
    finally:
        conn.close()
    assert_same_events(world, graphs, since, until)


async def test_reads_without_the_covering_index(world: World,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingestion may drop the read indexes: the packed read then walks rowid ranges."""
    await world.store.db.execute("DROP INDEX events_rescore")
    await world.store.db.execute("DROP INDEX events_weighted")
    monkeypatch.setattr(bulk, "ID_CHUNK", 97)  # many ranges, split across both threads
    since, until = NOW - WINDOW, NOW
    conn = sqlite3.connect(world.store.db.path)
    try:
        graphs = every_read_path(conn, world, since, until)
    finally:
        conn.close()
    assert_same_events(world, graphs, since, until)
    await assert_matches_reference(world)


def every_read_path(conn: sqlite3.Connection, world: World, since: int, until: int
                    ) -> list[bulk.GraphArrays]:
    """The window read by each read path, then by the default choice."""
    graphs = [bulk.load_window(conn, world.community, since, until, read=path)
              for path in bulk.READ_PATHS]
    graphs.append(bulk.load_window(conn, world.community, since, until))
    return graphs


def assert_same_events(world: World, graphs: list[bulk.GraphArrays], since: int,
                       until: int) -> None:
    expected = sorted(
        (r.actor_id, r.target_id, r.kind, r.ts, r.weight) for r in world.rows
        if r.community_id == world.community and since <= r.ts <= until)
    for graph in graphs:
        assert graph.events == len(expected)
        ids = graph.account_ids
        target = np.where(graph.target >= 0, ids[np.maximum(graph.target, 0)], 0)
        weight = graph.weight if graph.weight is not None else np.ones(graph.events)
        got = sorted(zip(ids[graph.actor].tolist(), target.tolist(), graph.kind.tolist(),
                         graph.ts.astype(int).tolist(), weight.tolist(), strict=True))
        assert got == expected
        assert graph.max_event_id == max(
            i + 1 for i, r in enumerate(world.rows) if r.community_id == world.community)


def test_packing_fits_64_bits() -> None:
    for max_id in (1, 60, 10**6, 2**23 - 1):
        packing = bulk._Packing.for_ids(max_id)
        assert packing is not None
        assert 2 * packing.id_bits + 4 + packing.span_bits <= 62
    assert bulk._Packing.for_ids(2**24) is None  # chunks would be too short: two integers


async def test_unweighted_window_reads_no_weight_column(world: World) -> None:
    """weight None tells the core every weight is 1 (same result, less memory)."""
    since, until = NOW - WINDOW, NOW
    conn = sqlite3.connect(world.store.db.path)
    try:
        await world.store.db.execute("DELETE FROM events WHERE weight <> 1.0")
        graph = bulk.load_window(conn, world.community, since, until)
    finally:
        conn.close()
    assert graph.weight is None
    world.rows = [r for r in world.rows if r.weight == 1.0]
    await assert_matches_reference(world)


async def test_facts_read_only_what_differs(world: World) -> None:
    ids = np.array(sorted({r.actor_id for r in world.rows}), dtype=np.int64)
    facts = await world.store.accounts.fact_arrays(ids)
    for i, account in enumerate(ids.tolist()):
        assert facts.is_bot[i] == (account in world.bots)
        followers, listed = world.audience.get(account, (None, None))
        assert (np.isnan(facts.followers[i]) if followers is None
                else facts.followers[i] == followers)
        assert np.isnan(facts.listed[i]) if listed is None else facts.listed[i] == listed
        created = world.created.get(account)
        assert np.isnan(facts.created[i]) if created is None else facts.created[i] == created
    assert any(a in world.created for a in ids.tolist())


async def test_history_and_state(world: World) -> None:
    rescorer = Rescorer(world.store, CONFIG)
    first = await rescorer.rescore(world.community, NOW)
    assert set(first.stages) == {"read", "facts", "aggregate", "propagate", "map", "write"}
    assert first.members == len(await stored(world))
    someone = next(iter(await stored(world)))
    today = NOW // DAY
    # Same day: today's row is replaced. Next day: a row only if the score moved.
    await world.store.events.add_many(
        [EventRow(world.community, int(Kind.REPLY), a, someone, NOW + 3_000, "c", f"late{a}")
         for a in list(await stored(world))[:20] if a != someone])
    await rescorer.rescore(world.community, NOW + 3_600)
    history = await world.store.scores.history(world.community, someone, 0)
    current = await world.store.scores.get(world.community, someone)
    assert current is not None and history == [(today, current.score)]
    before = current.score
    await rescorer.rescore(world.community, NOW + DAY)
    history = await world.store.scores.history(world.community, someone, 0)
    current = await world.store.scores.get(world.community, someone)
    assert current is not None
    assert history == ([(today, before)] if current.score == before
                       else [(today, before), (today + 1, current.score)])
    assert await world.store.scores.score_on(world.community, someone, today + 1) == current.score
    state = await world.store.scores.rescore_state(world.community)
    assert state == (NOW + DAY, await world.store.events.max_id(world.community))
    assert await rescorer.rescore_if_stale(world.community, NOW + DAY + 60) is None


async def test_rescore_reads_only_the_covering_index(world: World) -> None:
    for sql in (bulk._ONE_VALUE, bulk._TWO_VALUES):
        plan = await world.store.db.fetchall("EXPLAIN QUERY PLAN " + sql.replace("?", "1"))
        assert any("COVERING INDEX events_rescore" in str(r[3]) for r in plan)
    plan = await world.store.db.fetchall("EXPLAIN QUERY PLAN " + bulk._CREATED.replace("?", "1"))
    assert any("COVERING INDEX accounts_created" in str(r[3]) for r in plan)
    plan = await world.store.db.fetchall(
        "EXPLAIN QUERY PLAN SELECT max(id) FROM events WHERE community_id = 1")
    assert any("events_community_id" in str(r[3]) for r in plan)
    names = {str(r[0]) for r in await world.store.db.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "events_window" not in names  # its job is done by events_rescore's prefix


async def test_other_community_untouched(world: World) -> None:
    await Rescorer(world.store, CONFIG).rescore(world.community, NOW)
    assert await world.store.scores.count(world.other) == 0
    shifted = replace(world, community=world.other)
    await assert_matches_reference(shifted)


def table_of(scores: dict[int, int]) -> ScoreTable:
    """Ranked by score, highest first; raw mirrors the score so ranks are unambiguous."""
    ids = sorted(scores, key=lambda a: (-scores[a], a))
    score = np.array([scores[a] for a in ids])
    return ScoreTable(np.array(ids), score, score / 10.0, np.zeros(len(ids)))


@pytest.mark.parametrize("rebuild_min_rows", [0, 10**9], ids=["rank-index-rebuilt", "updated"])
async def test_score_writes_keep_sparse_history(tmp_path: Path, rebuild_min_rows: int) -> None:
    """History gets a row when a score or the model version changes, a NULL row when a
    member stops being scored, nothing otherwise; whatever shortcut the write takes (rank
    index rebuilt or updated)."""
    async with Storage(tmp_path / "w.db") as store:
        comm = (await store.communities.ensure("console", "w")).id
        ids = [await store.accounts.ensure("console", f"a{i}", display_name=f"a{i}")
               for i in range(6)]
        at = 20_000 * DAY + 100

        async def write(scores: dict[int, int], when: int, version: str = "v1") -> None:
            async with store.db.write() as conn:
                await write_rescore(conn, comm, table_of(scores), version, when, 1,
                                    rebuild_min_rows=rebuild_min_rows)

        async def rows() -> dict[tuple[int, int], tuple[int | None, str]]:
            found = await store.db.fetchall(
                "SELECT account_id, day, score, model_version FROM score_history")
            return {(int(r[0]), int(r[1])): (r[2], r[3]) for r in found}

        day = at // DAY
        await write({ids[0]: 50, ids[1]: 40, ids[2]: 30, ids[3]: 20}, at - DAY)
        # A day later: one score changes, one member leaves, one arrives.
        second = {ids[0]: 50, ids[1]: 45, ids[2]: 30, ids[4]: 10}
        await write(second, at)
        assert await rows() == {
            (ids[0], day - 1): (50, "v1"), (ids[1], day - 1): (40, "v1"),
            (ids[2], day - 1): (30, "v1"), (ids[3], day - 1): (20, "v1"),
            (ids[1], day): (45, "v1"), (ids[3], day): (None, "v1"), (ids[4], day): (10, "v1")}
        # Later the same day: the day's latest rescore wins; unchanged members cost nothing.
        await write({**second, ids[1]: 46}, at + 3_600)
        await write(second, at + 7_200)
        assert (await rows())[(ids[1], day)] == (45, "v1")
        assert len(await rows()) == 7
        for account, score in second.items():
            assert await store.scores.score_on(comm, account, day) == score
        assert await store.scores.score_on(comm, ids[3], day - 1) == 20
        assert await store.scores.score_on(comm, ids[3], day) is None
        assert await store.scores.history(comm, ids[3], 0) == [(day - 1, 20), (day, None)]
        # Ten quiet days add nothing; the value carries forward.
        for later in range(1, 11):
            await write(second, at + later * DAY)
        assert len(await rows()) == 7
        assert await store.scores.score_on(comm, ids[0], day + 10) == 50
        assert await store.scores.history(comm, ids[0], day + 5) == [(day + 5, 50)]
        # A new model version writes a row even where the score is the same.
        await write(second, at + 11 * DAY, "v2")
        changed = {k: v for k, v in (await rows()).items() if k[1] == day + 11}
        assert changed == {(a, day + 11): (s, "v2") for a, s in second.items()}
        board = await store.scores.board(comm, 0, 10, None)
        assert [(e.account_id, e.rank) for e in board] == [
            (ids[0], 1), (ids[1], 2), (ids[2], 3), (ids[4], 4)]
        assert await store.scores.visible_rank(comm, ids[2]) == 3
        plan = await store.db.fetchall(
            "EXPLAIN QUERY PLAN SELECT account_id FROM scores WHERE community_id = 1 "
            "ORDER BY rank LIMIT 10")
        assert any("scores_rank" in str(r[3]) for r in plan)


@pytest.mark.parametrize("members", [1, ROWS_PER_STATEMENT, 2 * ROWS_PER_STATEMENT + 7])
async def test_every_row_arrives_whatever_the_statement_batching(tmp_path: Path,
                                                                 members: int) -> None:
    async with Storage(tmp_path / "rows.db") as store:
        comm = (await store.communities.ensure("console", "rows")).id
        ids = np.arange(1, members + 1, dtype=np.int64) * 3
        score = (ids % 97) + 1
        raw = ids / 7.0
        give = 1.0 / ids
        rank = np.argsort(np.argsort(-raw, kind="stable"), kind="stable") + 1
        await store.scores.replace_table(comm, ScoreTable(ids, score, raw, give, rank), "v",
                                         20_000 * DAY, 1)
        rows = await store.db.fetchall(
            "SELECT account_id, score, raw, rank, give_rate FROM scores ORDER BY account_id")
        assert [tuple(r) for r in rows] == list(zip(ids.tolist(), score.tolist(), raw.tolist(),
                                                    rank.tolist(), give.tolist(), strict=True))


def scores_in_main_file(path: Path, copy: Path, community: int) -> int:
    """Score rows a copy of the main database file alone holds (without its WAL)."""
    copy.write_bytes(path.read_bytes())
    conn = sqlite3.connect(copy)
    try:
        (count,) = conn.execute("SELECT count(*) FROM scores WHERE community_id = ?",
                                (community,)).fetchone()
        return int(count)
    finally:
        conn.close()


async def test_rescore_commit_leaves_the_checkpoint_to_a_worker(world: World,
                                                                tmp_path: Path) -> None:
    db = world.store.db
    writer = db._writer
    assert writer is not None
    await Rescorer(world.store, CONFIG).rescore(world.community, NOW)
    await db.settle()
    # The scores reached the database file itself, not just the WAL.
    count = scores_in_main_file(Path(db.path), tmp_path / "main-file-only.db", world.community)
    assert count == len(await stored(world)) > 0
    # Automatic checkpoints are back for every other write, so the WAL stays bounded.
    row = await (await writer.execute("PRAGMA wal_autocheckpoint")).fetchone()
    assert row is not None and int(row[0]) == 1000


async def test_deferred_write_that_fails_still_restores_checkpoints(world: World) -> None:
    db = world.store.db
    with pytest.raises(RuntimeError):
        async with db.write(defer_checkpoint=True) as conn:
            await conn.execute("DELETE FROM scores")
            raise RuntimeError("boom")
    await db.settle()
    assert db._writer is not None
    row = await (await db._writer.execute("PRAGMA wal_autocheckpoint")).fetchone()
    assert row is not None and int(row[0]) == 1000


async def test_scores_of_an_older_model_are_recomputed_at_the_first_check(world: World) -> None:
    """After an upgrade the stored scores carry the old MODEL_VERSION: the first
    rescore_if_stale (the bot runs one per community at start-up) recomputes them even
    though no event arrived, and the next check finds nothing to do."""
    rescorer = Rescorer(world.store, CONFIG)
    await rescorer.rescore(world.community, NOW)
    seen = await world.store.events.max_id(world.community)
    someone = next(iter(await stored(world)))
    row = await world.store.scores.get(world.community, someone)
    assert row is not None
    await world.store.scores.replace_all(
        world.community, [(row.account_id, row.score, row.raw, row.rank, 0.5)], "2026.11-3",
        NOW, seen)
    assert await world.store.scores.stored_model_version(world.community) == "2026.11-3"
    assert await rescorer.rescore_if_stale(world.community, NOW + 60) is not None
    assert await world.store.scores.stored_model_version(world.community) == MODEL_VERSION
    assert len(await stored(world)) > 1
    assert await rescorer.rescore_if_stale(world.community, NOW + 120) is None


async def test_rescore_in_the_worker_process_equals_scoring_the_raw_events(
        world: World) -> None:
    """Read, scored and written by the worker process: the same rows, history and state."""
    worker = RescoreWorker(world.store.db.path, 5.0)
    rescorer = Rescorer(world.store, CONFIG, worker=worker, process_min_members=0)
    try:
        await assert_matches_reference(world, NOW - DAY, rescorer)
        await assert_matches_reference(world, NOW, rescorer)
        history = await world.store.db.fetchall(
            "SELECT count(*) FROM score_history WHERE community_id = ?", (world.community,))
        assert history[0][0] > 0
        seen = await world.store.events.max_id(world.community)
        assert (await world.store.scores.rescore_state(world.community)) == (NOW, seen)
    finally:
        await rescorer.close()
    assert worker.crashes == 0


async def test_a_dead_worker_process_is_logged_and_the_rescore_runs_here(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    worker = RescoreWorker(world.store.db.path, 5.0)
    rescorer = Rescorer(world.store, CONFIG, worker=worker, process_min_members=0)
    try:
        await assert_matches_reference(world, NOW - DAY, rescorer)
        pool = worker._pool  # the test kills its process, as the OOM killer would
        assert pool is not None
        for process in list(pool._processes.values()):
            process.kill()
            process.join()
        await assert_matches_reference(world, NOW, rescorer)
        assert worker.crashes == 1
        assert "rescore worker process" in caplog.text
        await assert_matches_reference(world, NOW + 60, rescorer)  # a new worker
        assert worker.crashes == 1 and worker._pool is not None
    finally:
        await rescorer.close()
