"""Migration 0009 turns dense daily history (one row per member per rescored day) into
sparse history without changing what any reader sees."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.storage import Storage

DENSE = """CREATE TABLE score_history (
    community_id INTEGER NOT NULL, account_id INTEGER NOT NULL, day INTEGER NOT NULL,
    score INTEGER NOT NULL, model_version TEXT NOT NULL,
    PRIMARY KEY (community_id, account_id, day)) WITHOUT ROWID"""

# community -> account -> {day: (score, model)}. Community 1 was rescored daily on days
# 10..15; community 2 on days 10 and 12 only (the bot was down on day 11).
OLD = {
    1: {
        1: {10: (30, "v1"), 11: (30, "v1"), 12: (31, "v1"), 13: (31, "v1"), 14: (31, "v1"),
            15: (31, "v1")},
        2: {10: (20, "v1"), 11: (20, "v1"), 14: (20, "v1"), 15: (20, "v1")},  # away 12-13
        3: {10: (5, "v1"), 11: (5, "v1"), 12: (5, "v1"), 13: (5, "v1")},  # gone from 14
        4: {13: (7, "v1"), 14: (7, "v1"), 15: (7, "v1")},  # new on 13
        5: {10: (9, "v1"), 11: (9, "v2"), 12: (9, "v2"), 13: (9, "v2"), 14: (9, "v2"),
            15: (9, "v2")},
    },
    2: {
        1: {10: (3, "v1"), 12: (3, "v1")},  # day 11 had no rescore: no gap
        2: {10: (4, "v1")},  # missing from day 12's rescore
    },
}
SPARSE = {
    (1, 1, 10): (30, "v1"), (1, 1, 12): (31, "v1"),
    (1, 2, 10): (20, "v1"), (1, 2, 12): (None, "v1"), (1, 2, 14): (20, "v1"),
    (1, 3, 10): (5, "v1"), (1, 3, 14): (None, "v1"),
    (1, 4, 13): (7, "v1"),
    (1, 5, 10): (9, "v1"), (1, 5, 11): (9, "v2"),
    (2, 1, 10): (3, "v1"),
    (2, 2, 10): (4, "v1"), (2, 2, 12): (None, "v1"),
}


async def test_dense_history_is_compacted_and_reads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "dense.db"
    async with Storage(path):
        pass
    conn = sqlite3.connect(path)
    with conn:  # as the database stood before migration 0009
        conn.execute("DELETE FROM schema_migrations WHERE number = 9")
        conn.execute("DROP TABLE score_history")
        conn.execute(DENSE)
        conn.executemany(
            "INSERT INTO score_history VALUES (?, ?, ?, ?, ?)",
            [(c, a, d, s, m) for c, members in OLD.items() for a, days in members.items()
             for d, (s, m) in days.items()])
    conn.close()
    async with Storage(path) as store:
        rows = await store.db.fetchall(
            "SELECT community_id, account_id, day, score, model_version FROM score_history")
        assert {(r[0], r[1], r[2]): (r[3], r[4]) for r in rows} == SPARSE
        for community, members in OLD.items():
            rescored = sorted({d for days in members.values() for d in days})
            for account, days in members.items():
                for day in range(9, 17):
                    on = max((d for d in rescored if d <= day), default=None)
                    expected = days[on][0] if on in days else None
                    assert await store.scores.score_on(community, account, day) == expected, (
                        community, account, day)
        plan = await store.db.fetchall(
            "EXPLAIN QUERY PLAN SELECT * FROM score_history WHERE community_id = 1 AND day < 5")
        assert any("score_history_day" in str(r[3]) for r in plan)
