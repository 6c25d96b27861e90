"""Hostile Discord names and messages.

The translation (GatewayTranslator.person) is fuzzed with any text, lone surrogates
included; a few hostile members go end to end through real discord.py and FakeDiscord:
each of their messages is stored exactly once, /klout about them answers with pings
off and no raw @everyone, @here or <@id> in what it shows, and nothing logs an error."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from bot.adapters.discord_ingest import GatewayTranslator
from tests.discord.harness import DiscordBot, discord_bot
from tests.fakes.discord_fake import FakeDiscord, FakeGuild
from tests.fuzz.harness import (
    END_TO_END_FAST,
    END_TO_END_SLOW,
    HOSTILE_BITS,
    ErrorLog,
    assert_safe_reply,
    fuzz_pair,
    fuzz_session,
    hostile_text,
    printable,
)

NO_PINGS = {"parse": []}
maybe_name = st.one_of(st.none(), hostile_text)


def _check_person(username: str, global_name: str | None, nick: str | None) -> None:
    translator = GatewayTranslator("1", lambda _guild: None)
    user = {"id": "42", "username": username, "global_name": global_name}
    person = translator.person(user, {"nick": nick} if nick is not None else None)
    assert printable(person.display_name) and person.display_name
    assert person.handle is None or printable(person.handle)
    bare = translator.bare("43", username)
    assert bare.handle is None or printable(bare.handle)


test_any_discord_name_translates_to_a_storable_person, \
    test_any_discord_name_translates_to_a_storable_person_deep = fuzz_pair(
        _check_person, username=hostile_text, global_name=maybe_name, nick=maybe_name)


# What Discord itself can send: valid Unicode (its JSON is UTF-8), up to 32 characters.
_DISCORD_BITS = [b for b in HOSTILE_BITS if all(not 0xD800 <= ord(c) <= 0xDFFF for c in b)]
discord_name = st.lists(
    st.one_of(st.sampled_from(_DISCORD_BITS),
              st.text(st.characters(exclude_categories=["Cs"]), max_size=8)),
    min_size=1, max_size=4).map("".join).map(lambda s: s[:32]).filter(lambda s: s.strip())
discord_text = st.lists(
    st.one_of(st.sampled_from(_DISCORD_BITS),
              st.text(st.characters(exclude_categories=["Cs"]), max_size=20)),
    max_size=5).map("".join)


class DiscordSession:
    def __init__(self, loop: Any, folder: Path) -> None:
        self.loop = loop
        self.fake = FakeDiscord()
        loop.run_until_complete(self.fake.start())
        self.guild: FakeGuild = self.fake.add_guild("Fuzz \u202e guild", members=["alice"])
        self._bot_cm: AbstractAsyncContextManager[DiscordBot] = discord_bot(
            self.fake, folder / "d.db")
        self.bot = loop.run_until_complete(self._bot_cm.__aenter__())
        self.sent = 0
        self.people = itertools.count()

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.run(self._bot_cm.__aexit__(None, None, None))
        self.run(self.fake.close())


@pytest.fixture
def discord_session() -> Iterator[tuple[DiscordSession, ErrorLog]]:
    with fuzz_session(DiscordSession) as found:
        yield found


def _shown(data: dict[str, Any]) -> str:
    parts = [data.get("content") or ""]
    for embed in data.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or "",
                  (embed.get("footer") or {}).get("text") or ""]
        parts += [f"{f.get('name', '')} {f.get('value', '')}" for f in embed.get("fields") or []]
    return "\n".join(parts)


def _check_member(discord_session: tuple[DiscordSession, ErrorLog], username: str,
                  global_name: str, nick: str | None, texts: list[str]) -> None:
    session, errors = discord_session
    fake, guild, bot = session.fake, session.guild, session.bot
    user = fake.make_user(f"{username[:24]}{next(session.people)}")
    user["global_name"] = global_name
    member = fake.make_member(guild.id, user, nick=nick)
    for text in texts:
        session.run(bot.say(guild, user["username"], text, mentions=[]))
        session.sent += 1
    events = session.run(bot.events_of(guild))
    assert sum(1 for kind, _, _ in events if kind == 0) == session.sent  # MESSAGE, once each
    session.run(bot.rescore(guild))
    ix = session.run(bot.slash(guild, "alice", "klout", {"user": member}))
    answers = [c.get("data") or {} for c in ix.callbacks]
    answers = [d for d in answers if d.get("content") or d.get("embeds")]
    assert answers, ix.callbacks  # a deferred answer would come as a followup
    for data in answers:
        assert data.get("allowed_mentions") == NO_PINGS, data
        assert_safe_reply("/klout", _shown(data))
    assert errors.take() == []


test_hostile_members_end_to_end, test_hostile_members_end_to_end_deep = fuzz_pair(
    _check_member, fast=END_TO_END_FAST, deep=END_TO_END_SLOW, username=discord_name,
    global_name=discord_name, nick=st.one_of(st.none(), discord_name),
    texts=st.lists(discord_text, min_size=1, max_size=3))
