"""/privacy on the console adapter, the way a person types it."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.core.helpers import console_bot
from tests.privacy.helpers import (
    build_community,
    confirm_code,
    export_path,
    read_export,
    request,
    rows,
    score_of,
)


async def test_info_says_what_how_long_and_why(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "i.db") as bot:
        for line in ("/privacy", "/privacy info"):
            out = await bot.say(line)
            assert "Never what anyone wrote" in out
            assert "90 days" in out and "Why:" in out
            assert "/privacy forget" in out and "/privacy optout" in out
        assert "isn't a /privacy option" in await bot.say("/privacy frobnicate")


async def test_optout_hides_score_and_stops_storage_until_optin(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    async with console_bot(db) as bot:
        await build_community(bot)
        before = await bot.say("/klout", as_="ana")
        assert "ana" in (await bot.say("/leaderboard"))
        out = await bot.say("/privacy optout", as_="ana")
        assert "you're opted out" in out
        assert "already opted out" in await bot.say("/privacy optout", as_="ana")
        assert "opted out of scoring" in await bot.say("/klout @ana", as_="bo")
        assert "not even to you" in await bot.say("/klout", as_="ana")
        board = await bot.say("/leaderboard", as_="bo")
        assert "ana" not in board and "bo" in board
        assert "ana" not in await bot.say("/leaderboard alltime", as_="bo")
        events_before = rows(db, "SELECT count(*) FROM events")[0][0]
        await bot.say("post still talking @bo", as_="ana")
        await bot.say("reply #1 hi", as_="cy")  # cy's reply to ana is about ana: dropped
        await bot.say("/rescore")
        # Only cy's own message (kind 0, no target) was stored.
        new = rows(db, "SELECT kind, target_id FROM events ORDER BY id")[events_before:]
        assert new == [(0, 0)]
    # A restart keeps the opt-out, and the ingestion gate with it.
    async with console_bot(db) as bot:
        assert "opted out of scoring" in await bot.say("/klout @ana", as_="bo")
        count = rows(db, "SELECT count(*) FROM events")[0][0]
        await bot.say("mention @ana", as_="di")
        assert rows(db, "SELECT count(*) FROM events")[0][0] == count + 1  # the post only
        out = await bot.say("/privacy optin", as_="ana")
        assert "Welcome back" in out
        assert score_of(await bot.say("/klout @ana", as_="bo")) == score_of(before)
        await bot.say("mention @ana", as_="di")
        assert rows(db, "SELECT count(*) FROM events")[0][0] == count + 3


async def test_optout_before_ever_posting_is_remembered(tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    async with console_bot(db) as bot:
        assert "you're opted out" in await bot.say("/privacy optout", as_="zed")
        await bot.say("mention @zed", as_="ana")
        assert rows(db, "SELECT display_name, opted_out FROM accounts WHERE external_id = 'zed'"
                    ) == [(None, 1)]
        assert rows(db, "SELECT count(*) FROM events WHERE target_id > 0")[0][0] == 0


async def test_forget_needs_the_code_and_deletes_everything(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    async with console_bot(db) as bot:
        await build_community(bot)
        await bot.say("/community other")
        await bot.say("post elsewhere", as_="ana")
        await bot.say("reply #1 hey", as_="bo")
        await bot.say("/community test")
        bo_before = score_of(await bot.say("/klout @bo", as_="cy"))
        assert "nothing to confirm" in await bot.say("/privacy forget confirm ABCDEF", as_="ana")
        preview = await bot.say("/privacy forget", as_="ana")
        assert "in 2 communities" in preview
        assert "4 actions you made" in preview  # 2 posts, 1 reply, 1 message of the reply
        code = confirm_code(preview)
        assert "isn't the code" in await bot.say("/privacy forget confirm ZZZZZZ", as_="ana")
        # Only the person it was issued to can use it.
        assert "nothing to confirm" in await bot.say(f"/privacy forget confirm {code}",
                                                      as_="bo")
        done = await bot.say(f"/privacy forget confirm {code.lower()}", as_="ana")
        assert "Deleted:" in done and "4 actions you made" in done
        assert "in 2 communities" in done
        assert "nothing to confirm" in await bot.say(f"/privacy forget confirm {code}",
                                                      as_="ana")
        # Nothing readable is left about ana, anywhere.
        assert rows(db, "SELECT count(*) FROM accounts WHERE external_id = 'ana'") == [(0,)]
        for table in ("events", "scores", "score_history", "members"):
            left = rows(db, f"SELECT count(*) FROM {table} t WHERE NOT EXISTS "
                            f"(SELECT 1 FROM accounts a WHERE a.id = "
                            f"{'t.actor_id' if table == 'events' else 't.account_id'})")
            assert left == [(0,)], table
        assert rows(db, "SELECT count(*) FROM forgotten") == [(1,)]
        # Others are rescored without ana's actions: bo lost the reply ana made to bo.
        await bot.say("/rescore")
        assert score_of(await bot.say("/klout @bo", as_="cy")) < bo_before
        assert "don't know anyone called ana" in await bot.say("/klout @ana", as_="cy")
        assert "ana" not in await bot.say("/leaderboard", as_="cy")


async def test_forget_code_expires(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "e.db") as bot:
        await build_community(bot)
        code = confirm_code(await bot.say("/privacy forget", as_="ana"))
        bot.clock.advance(timedelta(minutes=5, seconds=1))
        assert "expired" in await bot.say(f"/privacy forget confirm {code}", as_="ana")
        assert "ana: " in await bot.say("/klout @ana", as_="bo")


async def test_forget_when_nothing_is_stored_still_keeps_them_out(tmp_path: Path) -> None:
    db = tmp_path / "z.db"
    async with console_bot(db) as bot:
        preview = await bot.say("/privacy forget", as_="zed")
        assert "Nothing is stored about you" in preview
        done = await bot.say(f"/privacy forget confirm {confirm_code(preview)}", as_="zed")
        assert "Nothing was stored" in done
        await bot.say("mention @zed", as_="ana")
        assert rows(db, "SELECT count(*) FROM accounts WHERE external_id = 'zed'") == [(0,)]
        # Coming back is the person's own choice.
        assert "Welcome back" in await bot.say("/privacy optin", as_="zed")
        await bot.say("mention @zed", as_="ana")
        assert rows(db, "SELECT count(*) FROM accounts WHERE external_id = 'zed'") == [(1,)]


async def test_export_writes_the_persons_own_data(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    async with console_bot(db) as bot:
        await build_community(bot)
        out = await bot.say("/privacy export", as_="ana")
        assert "1 community" in out
        path = export_path(out)
        assert path.parent == tmp_path and path.name.startswith("ana-")
        data = read_export(out)
        assert [a["id"] for a in data["accounts"]] == ["ana"]
        (community,) = data["communities"]
        assert community["community_id"] == "test"
        assert community["score"]["score"] >= 1
        made = {e["kind"] for e in community["events_made"]}
        received = {e["kind"] for e in community["events_received"]}
        assert made == {"message", "reply"} and received == {"reply", "reaction"}
        # Other people are pseudonyms, never their names or ids.
        text = json.dumps(data)
        for other in ('"bo"', '"cy"', '"di"'):
            assert other not in text
        others = {e["other"] for e in community["events_received"]}
        assert len(others) == 3 and all(o.startswith("member-") for o in others)


async def test_export_for_someone_unknown_is_empty(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "u.db") as bot:
        out = await bot.say("/privacy export", as_="nobody")
        data = read_export(out)
        assert data["communities"] == [] and data["accounts"] == []


async def test_large_exports_are_gzipped(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.services.privacy.GZIP_ABOVE", 100)
    async with console_bot(tmp_path / "g.db") as bot:
        await build_community(bot)
        reply, _ = await bot.app.handle(request("discord", "g1", "ana", "privacy", "export"))
        (attachment,) = reply.attachments
        assert attachment.filename.endswith(".json.gz")
        assert attachment.content_type == "application/gzip"
        assert json.loads(gzip.decompress(attachment.data))["format"] == "klout-bot export 1"
