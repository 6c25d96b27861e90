"""Interactions read together are answered in arrival order, and leave nothing for the
garbage collector (bot/adapters/discord_turns.py, discord_commands._release)."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any

import discord

from commands.types import Request
from tests.discord.harness import TIMEOUT, discord_bot
from tests.discord.test_klout import popular_alice
from tests.fakes.discord_fake import FakeDiscord, FakeGuild

ASKERS = ("alice", "bob", "cy", "di", "ed")


async def test_each_interaction_is_answered_before_the_next_frame_is_read(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "t.db") as bot:
        await popular_alice(bot, guild)
        for who in ASKERS:  # warm the card cache: the fast path is what's being ordered
            await bot.slash(guild, who, "klout")

        order: list[tuple[str, str]] = []
        parsers = bot.adapter.client._connection.parsers
        parse = parsers["INTERACTION_CREATE"]

        def parsed(data: Any) -> None:
            order.append(("parsed", data["member"]["user"]["id"]))
            parse(data)

        handle = bot.app.handle

        async def handled(request: Request) -> Any:
            order.append(("handled", request.author.external_id))
            return await handle(request)

        parsers["INTERACTION_CREATE"] = parsed
        bot.app.handle = handled  # type: ignore[method-assign]
        # All five frames are written before the bot's loop gets a turn, so it reads them
        # in one go, as it would a burst from Discord.
        ixs = await asyncio.gather(*(
            fake.invoke_slash(guild.id, guild.channel_id, guild.member(w), "klout")
            for w in ASKERS))
        await fake._wait(lambda: all(ix.callbacks for ix in ixs) or None, TIMEOUT, "answers")

        ids = [guild.member(w)["user"]["id"] for w in ASKERS]
        assert order == [(step, i) for i in ids for step in ("parsed", "handled")]
        # (a second /klout this soon meets the cooldown: answered all the same, by a line)
        assert [len(ix.callbacks) for ix in ixs] == [1] * len(ASKERS)
        assert {ix.callbacks[0]["type"] for ix in ixs} == {4}


async def test_an_answered_interaction_is_freed_without_the_collector(
        fake: FakeDiscord, guild: FakeGuild, tmp_path: Path) -> None:
    async with discord_bot(fake, tmp_path / "g.db") as bot:
        await popular_alice(bot, guild)
        await bot.slash(guild, "alice", "klout")  # first use: caches and lazy imports
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            for who in ASKERS:
                await bot.slash(guild, who, "klout")
            await bot.slash(guild, "bob", "leaderboard")
            await asyncio.sleep(0.05)  # let each command task finish
            gc.collect()
            cyclic = [o for o in gc.garbage
                      if isinstance(o, discord.Interaction | discord.InteractionResponse)]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
        assert cyclic == []

