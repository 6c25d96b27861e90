"""/kloutadmin: refused without Manage Server, stored for admins; tier role rewards."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.discord.harness import discord_bot
from tests.fakes.discord_fake import FakeDiscord, FakeGuild, Perms


async def test_admin_refused_for_members_and_accepted_for_admins(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    boards = next(cid for cid, c in guild.channels.items() if c["name"] == "memes")
    options = {"channel": guild.channels[boards], "weekday": "fri", "time": "18:30",
               "timezone": "Europe/Paris", "top": 5}
    mod_role = fake.add_role(guild.id, "Mods", permissions=Perms.EVERYONE | (1 << 5))
    guild.member("bob")["roles"].append(mod_role["id"])  # 1 << 5 is Manage Server
    async with discord_bot(fake, tmp_path / "a.db") as bot:
        ix = await bot.slash(guild, "alice", "kloutadmin", options, subcommand="schedule")
        data = ix.callbacks[0]["data"]
        assert data["content"] == "Only server admins (Manage Server) can use /kloutadmin."
        assert data["flags"] & 64  # only alice sees it
        assert await bot.app.store.guild_settings.schedules() == []

        ix = await bot.slash(guild, "bob", "kloutadmin", options, subcommand="schedule")
        embed = ix.callbacks[0]["data"]["embeds"][0]
        assert f"goes to <#{boards}>" in embed["description"]
        assert "Fri 18:30 (Europe/Paris), top 5" in embed["description"]
        [scheduled] = await bot.app.store.guild_settings.schedules("discord")
        assert (scheduled.community, scheduled.schedule.channel) == (str(guild.id), str(boards))
        assert (scheduled.schedule.weekday, scheduled.schedule.time) == ("fri", "18:30")

        ix = await bot.slash(guild, fake.owner, "kloutadmin", subcommand="show")
        assert "Weekly leaderboard: <#" in ix.callbacks[0]["data"]["embeds"][0]["description"]
        ix = await bot.slash(guild, fake.owner, "kloutadmin",
                             {**options, "timezone": "Mars/Olympus"}, subcommand="schedule")
        assert "I don't know the time zone" in ix.callbacks[0]["data"]["content"]
        ix = await bot.slash(guild, "alice", "kloutadmin", subcommand="backfill")
        assert "Only server admins" in ix.callbacks[0]["data"]["content"]
    # The command group asks Discord to show it to Manage Server holders only.
    from bot.adapters.discord_commands import KloutCommands

    assert KloutCommands.admin.default_permissions is not None
    assert KloutCommands.admin.default_permissions.manage_guild
    assert KloutCommands.admin.guild_only


async def test_tier_roles_are_given_and_refusals_are_logged_with_their_cause(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    low = fake.add_role(guild.id, "Newcomer")
    high = fake.add_role(guild.id, "Staff", position=60)  # above the bot's role (50)
    async with discord_bot(fake, tmp_path / "t.db") as bot:
        post = await bot.say(guild, "alice", "hello")
        for fan in ("bob", "cy", "di", "ed"):
            await bot.say(guild, fan, "yo", reference=post)
            await bot.react(guild, fan, post)
        await bot.rescore(guild)
        alice, bob = await bot.card(guild, "alice"), await bot.card(guild, "bob")
        assert alice.tier != bob.tier
        for tier, role in ((bob.tier, low), (alice.tier, high)):
            ix = await bot.slash(guild, fake.owner, "kloutadmin",
                                 {"tier": tier, "role": role}, subcommand="tier-role")
            assert "after each rescore" in ix.callbacks[0]["data"]["embeds"][0]["description"]
        with caplog.at_level(logging.ERROR):
            await bot.rescore(guild)  # whoever rescores, the rewards follow
            await bot.adapter.roles.wait_idle(guild.id)
        bob_id = int(guild.member("bob")["user"]["id"])
        alice_id = int(guild.member("alice")["user"]["id"])
        assert low["id"] in guild.members[bob_id]["roles"]
        assert high["id"] not in guild.members[alice_id]["roles"]
        assert "'Staff' is not below the bot's highest role" in caplog.text
        again = await bot.adapter.roles.sync(guild.id)
        assert again.granted == 0 and again.revoked == 0 and again.refused == 1
        granted = [r for r in fake.requests_for("PUT", rf"/guilds/{guild.id}/members/.*")
                   if r.status == 204]

        # Stop rewarding bob's tier: the role is taken back.
        await bot.slash(guild, fake.owner, "kloutadmin", {"tier": bob.tier},
                        subcommand="tier-role")
        await bot.rescore(guild)
        await bot.adapter.roles.wait_idle(guild.id)
        assert low["id"] not in guild.members[bob_id]["roles"]
        # Members whose reward didn't change cost no requests (a refused one is retried).
        assert granted == [r for r in fake.requests_for("PUT", rf"/guilds/{guild.id}/members/.*")
                           if r.status == 204]
        taken = fake.requests_for("DELETE", rf"/guilds/{guild.id}/members/.*")
        assert taken and all(r.path.endswith(f"/roles/{low['id']}") for r in taken)
        assert not any(low["id"] in m["roles"] for m in guild.members.values())
