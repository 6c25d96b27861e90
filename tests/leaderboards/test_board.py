"""Score history: week-over-week deltas, climbers and newcomers, and that the weekly post,
/leaderboard and /klout read the same numbers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.leaderboards.board import WeeklyBoard, build_board
from commands.types import Person
from tests.leaderboards.helpers import COMMUNITY, running_bot, seed_scores, utc

NOW = utc(2026, 3, 16, 8, 0)
WEEKS = [NOW - timedelta(weeks=w) for w in (3, 2, 1)]
HISTORY = [
    {"ana": 40, "bo": 50, "cy": 30, "ed": 35},
    {"ana": 45, "bo": 49, "cy": 31, "ed": 36},
    {"ana": 52, "bo": 47, "cy": 31, "ed": 39},
]
CURRENT = {"ana": 60, "bo": 47, "cy": 28, "ed": 42, "di": 44, "fay": 12}


async def seed_history(app) -> None:  # type: ignore[no-untyped-def]
    for moment, scores in zip(WEEKS, HISTORY, strict=True):
        await seed_scores(app, scores, moment)
    await seed_scores(app, CURRENT, NOW)


async def test_changes_climbers_and_newcomers_come_from_history(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "h.db", NOW) as (app, _, _):
        await seed_history(app)
        board = await build_board(app.store, app.influence, "console", COMMUNITY, NOW, 10)
        assert [(x.name, x.score, x.change) for x in board.lines] == [
            ("ana", 60, 8), ("bo", 47, 0), ("di", 44, None), ("ed", 42, 3), ("cy", 28, -3),
            ("fay", 12, None)]
        assert [(m.name, m.change) for m in board.climbers] == [("ana", 8), ("ed", 3)]
        assert [(m.name, m.score, m.tier) for m in board.newcomers] == [
            ("di", 44, app.influence.config.tier_for(44)), ("fay", 12,
                                                        app.influence.config.tier_for(12))]
        assert board.members == 6 and board.community == "Test community"
        assert WeeklyBoard.from_json(board.to_json()) == board


async def test_a_gap_in_history_compares_with_the_last_snapshot_before_the_week(
        tmp_path: Path) -> None:
    async with running_bot(tmp_path / "gap.db", NOW) as (app, _, _):
        await seed_scores(app, {"ana": 30}, NOW - timedelta(days=20))
        await seed_scores(app, {"ana": 33}, NOW - timedelta(days=3))  # inside this week
        await seed_scores(app, {"ana": 41}, NOW)
        board = await build_board(app.store, app.influence, "console", COMMUNITY, NOW, 5)
        assert [(x.name, x.change) for x in board.lines] == [("ana", 11)]
        assert [(m.name, m.change) for m in board.climbers] == [("ana", 11)]
        assert board.newcomers == ()


async def test_post_and_leaderboard_command_agree(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "same.db", NOW) as (app, _, _):
        await seed_history(app)
        post = await build_board(app.store, app.influence, "console", COMMUNITY, NOW,
                                 app.config.bot.leaderboard_page_size)
        page = await app.ports.influence.board("console", COMMUNITY, 1, NOW, "week")
        assert post.lines == page.lines
        adapter = app.adapters["console"]
        shown = await adapter.exec_line("/leaderboard this week")  # type: ignore[attr-defined]
        for line in post.lines:
            assert f"{line.rank}. {line.name} · {line.score} ·" in shown


async def test_klout_shows_the_change_since_last_week_and_a_trend(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "klout.db", NOW) as (app, _, _):
        await seed_history(app)
        card = await app.influence.card("console", COMMUNITY, Person("console", "ana", "ana"),
                                        NOW)
        assert (card.score, card.change_week) == (60, 8)
        assert card.trend == (40, 45, 52, 60)
        adapter = app.adapters["console"]
        text = await adapter.exec_line("/klout @ana")  # type: ignore[attr-defined]
        assert text.startswith("ana: 60 (+8 this week)")
        assert "Trend: 40 → 45 → 52 → 60" in text
        newcomer = await adapter.exec_line("/klout @di")  # type: ignore[attr-defined]
        assert newcomer.startswith("di: 44 (new this week)")


async def test_opted_out_members_are_neither_climbers_nor_newcomers(tmp_path: Path) -> None:
    async with running_bot(tmp_path / "opt.db", NOW) as (app, _, _):
        await seed_history(app)
        ana = await app.store.accounts.by_external("console", "ana")
        di = await app.store.accounts.by_external("console", "di")
        assert ana is not None and di is not None
        await app.store.privacy.set_opted_out([ana, di], True)
        board = await build_board(app.store, app.influence, "console", COMMUNITY, NOW, 10)
        names = {x.name for x in (*board.lines, *board.climbers, *board.newcomers)}
        assert "ana" not in names and "di" not in names
        assert [x.rank for x in board.lines] == [1, 2, 3, 4]
