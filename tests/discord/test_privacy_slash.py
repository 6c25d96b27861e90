"""/privacy, /link, /unlink and /kloutadmin wipe as slash commands through the real
discord.py client against FakeDiscord; slow answers are deferred, not dropped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.services.linking import StaticXVerifier
from tests.discord.harness import DiscordBot, discord_bot
from tests.fakes.discord_fake import FakeDiscord, FakeGuild, FakeInteraction, Perms
from tests.privacy.helpers import confirm_code, link_code


def answer_of(ix: FakeInteraction) -> str:
    """The text a user sees in the first answer, embed or plain."""
    data: dict[str, Any] = ix.callbacks[0]["data"]
    parts = [data.get("content") or ""]
    for embed in data.get("embeds") or ():
        parts += [embed.get("title") or "", embed.get("description") or ""]
    return "\n".join(parts)


def ephemeral(ix: FakeInteraction) -> bool:
    return bool(ix.callbacks[0]["data"].get("flags", 0) & 64)


async def scored(bot: DiscordBot, guild: FakeGuild) -> None:
    post = await bot.say(guild, "alice", "hello")
    for fan in ("bob", "cy", "di"):
        await bot.say(guild, fan, "yo", reference=post)
        await bot.react(guild, fan, post)
    await bot.rescore(guild)


async def test_optout_hides_the_score_and_optin_restores_it(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "p.db") as bot:
        await scored(bot, guild)
        ix = await bot.slash(guild, "alice", "privacy", subcommand="optout")
        assert ephemeral(ix) and "opted out" in answer_of(ix)
        ix = await bot.slash(guild, "bob", "klout", {"user": guild.member("alice")})
        assert "opted out" in answer_of(ix)
        ix = await bot.slash(guild, "alice", "privacy", subcommand="optin")
        assert ephemeral(ix)
        await bot.rescore(guild)
        ix = await bot.slash(guild, "bob", "klout", {"user": guild.member("alice")})
        assert "opted out" not in answer_of(ix) and "Alice: " in answer_of(ix)


async def test_forget_asks_for_a_code_then_deletes(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "f.db") as bot:
        await scored(bot, guild)
        alice = str(guild.member("alice")["user"]["id"])
        ix = await bot.slash(guild, "alice", "privacy", subcommand="forget")
        assert ephemeral(ix)
        code = confirm_code(answer_of(ix))
        assert any(actor == alice for _, actor, _ in await bot.events_of(guild))
        # Someone else can't use alice's code.
        ix = await bot.slash(guild, "bob", "privacy", {"confirm": code}, subcommand="forget")
        assert any(actor == alice for _, actor, _ in await bot.events_of(guild))
        ix = await bot.slash(guild, "alice", "privacy", {"confirm": code}, subcommand="forget")
        assert ephemeral(ix) and "deleted" in answer_of(ix).lower()
        assert not any(alice in (actor, target) for _, actor, target in
                       await bot.events_of(guild))


async def test_export_is_attached_and_sent_by_direct_message(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "e.db") as bot:
        await scored(bot, guild)
        start = len(fake.requests)
        ix = await bot.slash(guild, "alice", "privacy", subcommand="export")
        assert ephemeral(ix)
        [attached] = ix.callbacks[0]["files"]
        exported = json.loads(attached["data"])
        assert "alice" in json.dumps(exported)
        assert "bob" not in {a.get("name") for a in exported.get("accounts", [])}
        dm = await fake.wait_for_request("POST", r"/channels/\d+/messages", start=start,
                                         where=lambda r: bool(r.files))
        assert json.loads(dm.files[0]["data"]) == exported
        assert "parse" in (dm.json or {}).get("allowed_mentions", {})  # pings no one


async def test_link_verify_and_unlink(fake: FakeDiscord, guild: FakeGuild,
                                     tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "l.db") as bot:
        ix = await bot.slash(guild, "alice", "link",
                             {"network": "twitter", "handle": "@alice_x"})
        assert "isn't connected to X" in answer_of(ix)  # no X adapter: said plainly
        # The X side is the console's stand-in here; the real one is tested against
        # the local X API in tests/twitter/test_link_x.py.
        x = StaticXVerifier()
        bot.app.privacy.use_verifier("twitter", x)
        ix = await bot.slash(guild, "alice", "link",
                             {"network": "twitter", "handle": "@alice_x"})
        assert ephemeral(ix) and "/link twitter verify" in answer_of(ix)
        x.set_bio("alice_x", f"hi {link_code(answer_of(ix))}")
        ix = await bot.slash(guild, "bob", "link", {"network": "twitter", "handle": "verify"})
        assert "Linked" not in answer_of(ix)  # bob has no code pending: nothing linked
        ix = await bot.slash(guild, "alice", "link",
                             {"network": "twitter", "handle": "verify"})
        assert ephemeral(ix) and "Linked: X account alice\\_x" in answer_of(ix)
        alice_id = str(guild.member("alice")["user"]["id"])
        alice = await bot.app.store.accounts.by_external("discord", alice_id)
        assert alice is not None
        assert [link.linked.external_id for link in
                await bot.app.store.privacy.links_of(alice.id)] == ["x-alice_x"]
        ix = await bot.slash(guild, "alice", "unlink", {"network": "twitter"})
        assert ephemeral(ix)
        assert await bot.app.store.privacy.links_of(alice.id) == []


async def test_wipe_is_for_admins_and_needs_the_code(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    admin_role = fake.add_role(guild.id, "Mods", permissions=Perms.EVERYONE | (1 << 5))
    guild.member("ed")["roles"].append(admin_role["id"])
    async with discord_bot(fake, tmp_path / "w.db") as bot:
        await scored(bot, guild)
        ix = await bot.slash(guild, "bob", "kloutadmin", subcommand="wipe")
        assert "Only server admins" in answer_of(ix)
        assert await bot.events_of(guild)
        ix = await bot.slash(guild, "ed", "kloutadmin", subcommand="wipe")
        assert ephemeral(ix)
        code = confirm_code(answer_of(ix))
        await bot.slash(guild, "ed", "kloutadmin", {"confirm": code}, subcommand="wipe")
        assert await bot.events_of(guild) == []


async def test_a_slow_answer_is_deferred_then_sent_as_a_follow_up(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    # defer_after_ms = 0: every answer counts as slow, so the deferred path always runs.
    async with discord_bot(fake, tmp_path / "d.db", defer_after_ms=0) as bot:
        await scored(bot, guild)
        # A card built on the loop's thread answers without ever letting the timer run;
        # sent to the shared reader it waits for another thread, as a slow answer does.
        bot.app.store.reads.budget_s = 0
        bot.app.cards.clear()
        start = len(fake.requests)
        ix = await bot.slash(guild, "bob", "klout", {"user": guild.member("alice")})
        assert [cb["type"] for cb in ix.callbacks] == [5]  # "thinking…", then the answer
        followup = await fake.wait_for_request("POST", r"/webhooks/\d+/[^/]+", start=start)
        assert followup.status < 300
        assert ix.original is not None
        [embed] = ix.original["embeds"]
        assert "Alice" in embed["title"] or "Alice" in embed["description"]
        ix = await bot.slash(guild, "alice", "privacy", subcommand="optout")
        assert ix.callbacks[0]["data"]["flags"] & 64  # private answers stay private
