"""The gateway fast lane writes exactly what the full path writes.

One randomized stream of gateway payloads (messages, replies with and without the
original, mentions, reactions, bots, webhooks, DMs, renamed members, exclusions and
an opt-out arriving mid-stream) goes through two bots, one with the fast lane and one
without; their databases must hold the same events, accounts and member names.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.adapters.discord_events import GatewayEvents
from bot.app import KloutApp
from bot.clock import FixedClock
from bot.config import Config
from commands.types import Person

BOT_ID = "1"
GUILD, OTHER_GUILD = "900", "901"
CHANNELS = ["10", "11", "12"]
EPOCH_MS = 1_420_070_400_000
START = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def user(uid: int, nick_round: int = 0, *, bot: bool = False) -> tuple[dict[str, Any],
                                                                       dict[str, Any]]:
    name = f"user{uid}"
    payload = {"id": str(uid), "username": name, "global_name": name.title(), "bot": bot}
    # Members 5..9 change nickname now and then, and change it back.
    nick = f"nick{uid}-{nick_round % 2}" if 5 <= uid < 10 and nick_round else None
    return payload, {"nick": nick, "roles": ["77"] if uid % 7 == 0 else []}


class Stream:
    """Gateway dispatches, with the operations that change state between them."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.snowflake = (int(START.timestamp() * 1000) - EPOCH_MS) << 22
        self.recent: list[dict[str, Any]] = []
        self.nick_round = 0

    def next_id(self) -> str:
        self.snowflake += 1 << 22  # a millisecond apart
        return str(self.snowflake)

    def person(self) -> tuple[dict[str, Any], dict[str, Any]]:
        rng = self.rng
        uid = rng.choice([2, 2, 3]) if rng.random() < 0.02 else rng.randint(2, 40)
        return user(uid, self.nick_round, bot=uid in (2, 3))

    def step(self) -> tuple[str, Any]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.01:
            return "flush", None
        if roll < 0.015:
            self.nick_round += 1
            return "noop", None
        if roll < 0.02 and self.recent:
            target = rng.choice(self.recent)
            return "dispatch", ("MESSAGE_REACTION_REMOVE", {
                "user_id": str(rng.randint(4, 40)), "channel_id": target["channel_id"],
                "message_id": target["id"], "guild_id": target.get("guild_id"),
                "emoji": {"name": "x"}})
        author, member = self.person()
        guild = OTHER_GUILD if rng.random() < 0.05 else GUILD
        if roll < 0.2 and self.recent:
            target = rng.choice(self.recent)
            return "dispatch", ("MESSAGE_REACTION_ADD", {
                "user_id": author["id"], "channel_id": target["channel_id"],
                "message_id": target["id"], "guild_id": target.get("guild_id"),
                "member": {**member, "user": author}, "emoji": {"name": "+"},
                "message_author_id": target["author"]["id"]})
        message: dict[str, Any] = {
            "id": self.next_id(), "channel_id": rng.choice(CHANNELS), "author": author,
            "type": 0, "mentions": []}
        if rng.random() > 0.02:  # else a DM
            message["guild_id"] = guild
        if rng.random() > 0.05:  # REST-shaped messages carry no member
            message["member"] = member
        if rng.random() < 0.02:
            message["webhook_id"] = "5"
        if rng.random() < 0.02:
            message["type"] = 7  # a join, not talk
        if roll < 0.45 and self.recent:
            original = rng.choice(self.recent)
            message["type"] = 19
            message["message_reference"] = {"message_id": original["id"]}
            if rng.random() < 0.9:
                message["referenced_message"] = {k: v for k, v in original.items()
                                                 if k != "member"}
        if rng.random() < 0.25:
            for _ in range(rng.randint(1, 3)):
                other, other_member = self.person()
                entry = dict(other)
                if rng.random() < 0.8:
                    entry["member"] = other_member
                message["mentions"].append(entry)
        if rng.random() < 0.03 and self.recent:  # a replay of something already seen
            return "dispatch", ("MESSAGE_CREATE", rng.choice(self.recent))
        self.recent.append(message)
        if len(self.recent) > 200:
            self.recent.pop(0)
        return "dispatch", ("MESSAGE_CREATE", message)


async def run(db: Path, *, fast_lane: bool, seed: int, steps: int) -> tuple[Any, int]:
    clock = FixedClock(START + timedelta(days=1))
    base = Config()
    config = base.with_overrides(storage=base.storage.__class__(path=str(db), batch_size=50))
    stream = Stream(seed)
    async with KloutApp(config, clock=clock, db_path=db) as app:
        events = GatewayEvents(app, BOT_ID, fast_lane=fast_lane)
        await events.prepare()
        store = app.store
        for guild in (GUILD, OTHER_GUILD):
            await store.communities.ensure("discord", guild, f"guild {guild}")
        community = (await store.communities.ensure("discord", GUILD)).id
        for i in range(steps):
            if i == steps // 4:
                await store.guild_settings.set_excluded(community, "user", "11", True)
                await store.guild_settings.set_excluded(community, "channel", "12", True)
            if i == steps // 2:
                await app.privacy.opt_out(Person("discord", "13", "User13"))
            if i == 3 * steps // 4:
                await store.guild_settings.set_excluded(community, "role", "77", True)
                await store.guild_settings.set_excluded(community, "channel", "12", False)
            what, item = stream.step()
            if what == "flush":
                await app.writer.flush()
                await events.drain()
            elif what == "dispatch":
                events.handle(*item)
            clock.advance(timedelta(seconds=1))
        await events.drain()
        await app.writer.flush()
        db_ = store.db
        stored = (
            sorted(tuple(r) for r in await db_.fetchall(
                "SELECT c.external_id, e.kind, a.external_id, coalesce(t.external_id, ''), "
                "e.ts, e.channel, e.source, e.weight FROM events e "
                "JOIN communities c ON c.id = e.community_id "
                "JOIN accounts a ON a.id = e.actor_id "
                "LEFT JOIN accounts t ON t.id = e.target_id")),
            sorted(tuple(r) for r in await db_.fetchall(
                "SELECT external_id, display_name, handle, is_bot, opted_out FROM accounts")),
            sorted(tuple(r) for r in await db_.fetchall(
                "SELECT c.external_id, a.external_id, m.display_name FROM members m "
                "JOIN communities c ON c.id = m.community_id "
                "JOIN accounts a ON a.id = m.account_id")),
        )
        return stored, events.fast.hits


async def test_fast_lane_writes_what_the_full_path_writes(tmp_path: Path) -> None:
    for seed in (1, 2, 3):
        full, no_hits = await run(tmp_path / f"full{seed}.db", fast_lane=False, seed=seed,
                                  steps=3000)
        fast, hits = await run(tmp_path / f"fast{seed}.db", fast_lane=True, seed=seed,
                               steps=3000)
        assert no_hits == 0
        # Most dispatches took the fast lane, so the comparison means something.
        assert hits > 1000
        events, accounts, members = fast
        assert len(events) > 2000
        assert any(str(name).startswith("nick") for _, _, name in members)  # renames seen
        assert any(opted_out for *_, opted_out in accounts)
        assert fast == full
