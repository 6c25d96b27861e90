"""History keeps a row only when a score changes: every reader carries values forward,
so a quiet member reads exactly as if a snapshot had been stored every day."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.leaderboards.board import build_board
from bot.services.export import build_export
from commands.types import Person
from tests.leaderboards.helpers import COMMUNITY, running_bot, seed_scores, utc

NOW = utc(2026, 3, 16, 8, 0)
TODAY = int(NOW.timestamp()) // 86_400


async def stored_rows(app) -> int:  # type: ignore[no-untyped-def]
    row = await app.store.db.fetchone("SELECT count(*) FROM score_history")
    return int(row[0])


async def test_a_member_unchanged_for_ten_days_keeps_trend_and_weekly_change(
        tmp_path: Path) -> None:
    async with running_bot(tmp_path / "quiet.db", NOW) as (app, _, _):
        await seed_scores(app, {"ana": 40, "bo": 30}, NOW - timedelta(days=20))
        await seed_scores(app, {"ana": 52, "bo": 30}, NOW - timedelta(days=10))
        for days_ago in range(9, -1, -1):  # daily rescores, nobody moves
            await seed_scores(app, {"ana": 52, "bo": 30}, NOW - timedelta(days=days_ago))
        assert await stored_rows(app) == 3  # ana twice, bo once: no daily copies
        card = await app.influence.card("console", COMMUNITY, Person("console", "ana", "ana"),
                                        NOW)
        assert (card.score, card.change_week) == (52, 0)
        # Week ends 14, 7 and 0 days ago: 40 then 52 carried over the quiet days.
        assert card.trend == (40, 52, 52)
        quiet = await app.influence.card("console", COMMUNITY, Person("console", "bo", "bo"),
                                         NOW)
        assert (quiet.change_week, quiet.trend) == (0, (30, 30, 30))
        board = await build_board(app.store, app.influence, "console", COMMUNITY, NOW, 10)
        assert [(x.name, x.change) for x in board.lines] == [("ana", 0), ("bo", 0)]
        assert board.climbers == () and board.newcomers == ()
        text = await app.adapters["console"].exec_line("/klout @ana")  # type: ignore[attr-defined]
        assert text.startswith("ana: 52 (±0 this week)")
        assert "Trend: 40 → 52 → 52" in text


async def test_a_member_who_appears_on_day_n_has_no_history_before_it(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "new.db", NOW) as (app, _, _):
        for days_ago in range(12, -1, -1):
            scores = {"ana": 40} if days_ago > 3 else {"ana": 40, "di": 25}
            await seed_scores(app, scores, NOW - timedelta(days=days_ago))
        comm = await app.store.communities.get("console", COMMUNITY)
        di = await app.store.accounts.by_external("console", "di")
        assert comm is not None and di is not None
        assert await app.store.scores.history(comm.id, di.id, 0) == [(TODAY - 3, 25)]
        assert await app.store.scores.score_on(comm.id, di.id, TODAY - 4) is None
        card = await app.influence.card("console", COMMUNITY, Person("console", "di", "di"),
                                        NOW)
        assert (card.change_week, card.trend) == (None, (25,))
        board = await build_board(app.store, app.influence, "console", COMMUNITY, NOW, 10)
        assert [(x.name, x.change) for x in board.lines] == [("ana", 0), ("di", None)]
        assert [m.name for m in board.newcomers] == ["di"]


async def test_a_member_who_leaves_reads_as_unscored_from_that_day(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "gone.db", NOW) as (app, _, _):
        await seed_scores(app, {"ana": 40, "bo": 30}, NOW - timedelta(days=30))
        await seed_scores(app, {"ana": 40}, NOW - timedelta(days=16))  # bo leaves
        await seed_scores(app, {"ana": 40, "bo": 33}, NOW - timedelta(days=2))  # and returns
        card = await app.influence.card("console", COMMUNITY, Person("console", "bo", "bo"),
                                        NOW)
        # Week ends 28 and 21 days ago: 30; 14 and 7 days ago: not scored; now 33.
        assert card.trend == (30, 30, 33)
        # Last week bo had no score, so he is new on this week's board.
        assert card.change_week is None
        board = await build_board(app.store, app.influence, "console", COMMUNITY, NOW, 10)
        assert [m.name for m in board.newcomers] == ["bo"]
        alltime = await app.influence.board("console", COMMUNITY, 1, NOW, "alltime")
        assert [(x.name, x.score) for x in alltime.lines] == [("ana", 40), ("bo", 33)]


async def test_the_export_lists_the_score_of_every_day(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "export.db", NOW) as (app, _, _):
        await seed_scores(app, {"ana": 40, "bo": 30}, NOW - timedelta(days=5))
        await seed_scores(app, {"ana": 41, "bo": 30}, NOW - timedelta(days=3))
        await seed_scores(app, {"ana": 41}, NOW - timedelta(days=1))
        ana = await app.store.accounts.by_external("console", "ana")
        bo = await app.store.accounts.by_external("console", "bo")
        assert ana is not None and bo is not None
        document, _, _ = await build_export(app.store, [ana], NOW)
        (community,) = document["communities"]
        assert [(d["day"], d["score"]) for d in community["score_history"]] == [
            ("2026-03-11", 40), ("2026-03-12", 40), ("2026-03-13", 41), ("2026-03-14", 41),
            ("2026-03-15", 41), ("2026-03-16", 41)]
        # bo is no longer scored but still a member: his export stops the day he left.
        comm = await app.store.communities.get("console", COMMUNITY)
        assert comm is not None
        await app.store.db.execute(
            "INSERT INTO members (community_id, account_id) VALUES (?, ?)", (comm.id, bo.id))
        document, _, _ = await build_export(app.store, [bo], NOW)
        (community,) = document["communities"]
        assert [(d["day"], d["score"]) for d in community["score_history"]] == [
            ("2026-03-11", 30), ("2026-03-12", 30), ("2026-03-13", 30), ("2026-03-14", 30)]
