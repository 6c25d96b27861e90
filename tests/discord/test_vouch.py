"""/kloutadmin vouch: admins mark trust seeds; the rescore reads them; opt-out and
forget remove them (docs/scoring.md, "Trust seeds")."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.discord.harness import discord_bot
from tests.fakes.discord_fake import FakeDiscord, FakeGuild


def _text(ix) -> str:
    data = ix.callbacks[0]["data"]
    return data["embeds"][0]["description"] if data.get("embeds") else data["content"]


async def _seeds(bot, guild: FakeGuild) -> dict[str, bool]:
    store = bot.app.store
    community = await store.communities.ensure("discord", str(guild.id))
    ids = []
    for name in ("alice", "bob", "cy"):
        ids.append(await store.accounts.ensure("discord", str(guild.member(name)["user"]["id"])))
    order = np.argsort(ids)
    facts = await store.accounts.fact_arrays(np.asarray(ids, dtype=np.int64)[order],
                                             community.id)
    assert facts.seed is not None
    return {name: bool(facts.seed[int(np.flatnonzero(order == k)[0])])
            for k, name in enumerate(("alice", "bob", "cy"))}


async def test_vouch_is_admin_only_listed_read_by_the_rescore_and_undone(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "v.db") as bot:
        post = await bot.say(guild, "alice", "hello")
        await bot.say(guild, "bob", "hi", reference=post)
        await bot.say(guild, "cy", "hey", reference=post)
        bob = {"user": guild.member("bob")}
        ix = await bot.slash(guild, "alice", "kloutadmin", bob, subcommand="vouch")
        assert "Only server admins" in _text(ix)
        assert (await _seeds(bot, guild))["bob"] is False

        ix = await bot.slash(guild, fake.owner, "kloutadmin", bob, subcommand="vouch")
        bob_ref = f"<@{guild.member('bob')['user']['id']}>"
        assert f"you vouch for {bob_ref}" in _text(ix)
        assert f"Vouched for (trust seeds): {bob_ref}" in _text(ix)
        ix = await bot.slash(guild, fake.owner, "kloutadmin", bob, subcommand="vouch")
        assert "was already vouched for" in _text(ix)
        assert await _seeds(bot, guild) == {"alice": False, "bob": True, "cy": False}
        await bot.rescore(guild)  # the rescore path reads the seeds without error

        ix = await bot.slash(guild, fake.owner, "kloutadmin", bob, subcommand="unvouch")
        assert "no longer vouch" in _text(ix)
        assert "Vouched for (trust seeds): nobody" in _text(ix)
        assert (await _seeds(bot, guild))["bob"] is False

        # Opting out removes the vouch, and an opted-out member cannot be vouched for.
        cy = {"user": guild.member("cy")}
        await bot.slash(guild, fake.owner, "kloutadmin", cy, subcommand="vouch")
        assert (await _seeds(bot, guild))["cy"] is True
        await bot.slash(guild, "cy", "privacy", subcommand="optout")
        assert (await _seeds(bot, guild))["cy"] is False
        ix = await bot.slash(guild, fake.owner, "kloutadmin", cy, subcommand="vouch")
        assert "Nothing saved" in _text(ix)
        assert (await _seeds(bot, guild))["cy"] is False
