"""Admins wiping a community; removed communities purged after the grace period."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import Config, ConfigError, PrivacySection, parse_config
from bot.ingest import Activity
from bot.services.privacy import apply_retention, purge_removed_communities
from bot.services.privacy_purge import PurgeLoop
from bot.storage.guild_settings import Schedule
from commands.types import Person
from scoring.kinds import Kind
from tests.core.helpers import T0, console_bot
from tests.privacy.helpers import build_community, confirm_code, request, rows, score_of


async def test_wipe_asks_first_and_keeps_settings(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    async with console_bot(db) as bot:
        await build_community(bot)
        await bot.say("/community other")
        await bot.say("post elsewhere", as_="ana")
        await bot.say("reply #1 yo", as_="bo")
        await bot.say("/community test")
        test = await bot.app.store.communities.get("console", "test")
        assert test is not None
        await bot.app.store.guild_settings.set_excluded(test.id, "channel", "123", True)
        preview = await bot.say("/privacy-wipe-community", as_="ana")
        assert "Settings (exclusions, schedules, tier roles) are kept" in preview
        code = confirm_code(preview)
        assert "isn't the code" in await bot.say("/privacy-wipe-community confirm AAAAAA")
        # The code belongs to the admin who asked for it.
        assert "nothing to confirm" in await bot.say(f"/privacy-wipe-community confirm {code}",
                                                      as_="bo")
        done = await bot.say(f"/privacy-wipe-community confirm {code}", as_="ana")
        assert "Wiped:" in done and "4 members" in done
        for table in ("events", "scores", "score_history", "members", "rescore_state"):
            assert rows(db, f"SELECT count(*) FROM {table} WHERE community_id = ?",
                        (test.id,)) == [(0,)], table
        assert rows(db, "SELECT count(*) FROM guild_exclusions") == [(1,)]
        # cy and di were only in this community: their accounts went too.
        assert sorted(r[0] for r in rows(db, "SELECT external_id FROM accounts")) == [
            "ana", "bo"]
        assert "Nobody has a score here yet" in await bot.say("/leaderboard")
        # The other community is untouched and the bot keeps working here.
        await bot.say("/community other")
        await bot.say("/rescore")
        assert "ana" in await bot.say("/leaderboard")
        await bot.say("/community test")
        await bot.say("post fresh start", as_="cy")
        assert rows(db, "SELECT count(*) FROM events WHERE community_id = ?",
                    (test.id,)) == [(1,)]


async def test_wipe_is_for_admins_only(tmp_path: Path) -> None:
    async with console_bot(tmp_path / "a.db") as bot:
        await build_community(bot)
        reply, rendered = await bot.app.handle(
            request("console", "test", "bo", "privacy-wipe-community"))
        assert reply.template == "errors/not_admin"
        assert "Only server admins" in rendered.text
        _, on_discord = await bot.app.handle(
            request("discord", "g1", "42", "privacy-wipe-community", is_admin=True))
        assert "/kloutadmin wipe confirm" in on_discord.text


async def test_removed_community_is_purged_after_the_grace_period(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    async with console_bot(db) as bot:
        await build_community(bot)
        await bot.say("/community kept")
        await bot.say("post here too", as_="ana")
        store = bot.app.store
        test = await store.communities.get("console", "test")
        assert test is not None
        await store.guild_settings.set_schedule(test.id, Schedule("555"), 0)
        assert await bot.app.privacy.community_removed("console", "test", T0)
        assert not await bot.app.privacy.community_removed("console", "test", T0)
        grace = timedelta(days=30)
        assert await purge_removed_communities(store, T0 + timedelta(days=29), grace) == 0
        assert rows(db, "SELECT count(*) FROM events WHERE community_id = ?",
                    (test.id,)) != [(0,)]
        assert await purge_removed_communities(store, T0 + timedelta(days=30), grace) == 1
        assert rows(db, "SELECT count(*) FROM communities WHERE external_id = 'test'") == [(0,)]
        for table in ("events", "scores", "score_history", "members", "guild_settings"):
            assert rows(db, f"SELECT count(*) FROM {table} WHERE community_id = ?",
                        (test.id,)) == [(0,)], table
        assert (await store.guild_settings.get(test.id)).schedule is None
        # Only ana is in another community; the rest had nothing left anywhere.
        assert [r[0] for r in rows(db, "SELECT external_id FROM accounts")] == ["ana"]
        assert await purge_removed_communities(store, T0 + timedelta(days=60), grace) == 0
        # A removed community that came back before the purge keeps its data.
        await bot.app.privacy.community_removed("console", "kept", T0)
        await bot.app.privacy.community_returned("console", "kept")
        assert await purge_removed_communities(store, T0 + timedelta(days=90), grace) == 0
        assert rows(db, "SELECT removed_at FROM communities WHERE external_id = 'kept'"
                    ) == [(None,)]


async def test_purge_loop_runs_at_start_and_stops(tmp_path: Path) -> None:
    config = replace(Config(), privacy=PrivacySection(removed_grace_days=0))
    async with console_bot(tmp_path / "l.db", config=config) as bot:
        await build_community(bot)
        await bot.app.privacy.community_removed("console", "test", T0)
        loop = PurgeLoop(bot.app, period_s=3_600)
        loop.start()
        await asyncio.wait_for(loop.ran.wait(), timeout=10)
        await loop.stop()
        assert loop.runs == 1 and loop.purged == 1
        assert await bot.app.store.communities.get("console", "test") is None


def test_grace_period_is_validated() -> None:
    assert parse_config({"privacy": {"removed_grace_days": 7}}).privacy.removed_grace_days == 7
    with pytest.raises(ConfigError, match=r"privacy\.removed_grace_days"):
        parse_config({"privacy": {"removed_grace_days": -1}})
    with pytest.raises(ConfigError, match=r"privacy\.removed_grace_days"):
        parse_config({"privacy": {"removed_grace_days": "30"}})
    with pytest.raises(ConfigError, match=r"did you mean 'privacy\.removed_grace_days'"):
        parse_config({"privacy": {"removed_grace_day": 3}})


async def test_retention_deletes_what_no_longer_counts(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    async with console_bot(db) as bot:
        ana, bo = (Person("console", n, n) for n in ("ana", "bo"))
        old, recent = T0 - timedelta(days=121), T0 - timedelta(days=10)
        await bot.app.ingestor.record([
            Activity("console", "test", bo, Kind.REPLY, old, ana, "", "1"),
            Activity("console", "test", bo, Kind.REPLY, recent, ana, "", "2")])
        await bot.app.rescore_community("console", "test")
        before = score_of(await bot.say("/klout @ana", as_="bo"))
        assert await apply_retention(bot.app.store, T0, 120) == 1
        assert rows(db, "SELECT source FROM events") == [("2",)]
        await bot.app.rescore_community("console", "test")
        assert score_of(await bot.say("/klout @ana", as_="bo")) == before


def test_event_retention_must_cover_the_scoring_window() -> None:
    with pytest.raises(ConfigError, match=r"shorter than scoring\.window_days"):
        parse_config({"privacy": {"events_retention_days": 60}})
    config = parse_config({"privacy": {"events_retention_days": 60},
                           "scoring": {"window_days": 30}})
    assert config.privacy.events_retention_days == 60
