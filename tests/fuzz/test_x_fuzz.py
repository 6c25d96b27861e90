"""Hostile X mention texts: through the parsing path (X's JSON decoded as tweepy does,
then the edge cleaning and read_mention), and end to end through real tweepy and
FakeX: every mention gets exactly one reply, short, with no @ in it (a reply that
names someone would mention them), never the internal-error reply."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from dataclasses import astuple
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from bot.adapters.text_edge import clean_json
from bot.adapters.twitter import DUPLICATE, TwitterAdapter
from bot.adapters.x_mentions import read_mention
from bot.adapters.x_text import MAX_WEIGHTED_LENGTH, fit_to_limit, weighted_length
from bot.adapters.x_transport import close_client, make_async_client
from bot.app import KloutApp
from bot.clock import FixedClock
from tests.fakes.x_fake import FakeX
from tests.fuzz.harness import (
    END_TO_END_FAST,
    END_TO_END_SLOW,
    ErrorLog,
    assert_safe_reply,
    fuzz_pair,
    fuzz_session,
    hostile_text,
    printable,
)
from tests.twitter.helpers import T0, ClockSleep, config_with

WORDS = ["", "privacy ", "privacy forget ", "privacy forget confirm ", "privacy info ",
         "leaderboard ", "leaderboard page ", "help ", "what about @", "klout ", "link ",
         "optout ", "@ana_x ", "@nobody_at_all ", "RT "]
mention_text = st.tuples(st.sampled_from(WORDS), hostile_text).map(
    lambda t: f"@KloutBot {t[0]}{t[1]}")
BOT_ID = "1000"
USERS = {"2000": {"id": "2000", "username": "asker", "name": "A\ud800"},
         BOT_ID: {"id": BOT_ID, "username": "KloutBot", "name": "KloutBot"}}


def as_tweepy_reads_it(post: dict[str, Any]) -> dict[str, Any]:
    """X's JSON as it arrives: json.dumps escapes lone surrogates, json.loads (tweepy,
    via aiohttp) brings them back; then the adapter's edge (x_api._page) cleans it."""
    return clean_json(json.loads(json.dumps(post)))


def _check_parsed(text: str) -> None:
    mentions = [{"start": 0, "end": 9, "username": "KloutBot", "id": BOT_ID}]
    post = {"id": "1800000000000000000", "author_id": "2000", "text": text,
            "conversation_id": "1800000000000000000", "created_at": "2026-03-02T00:00:00Z",
            "entities": {"mentions": mentions}}
    seen = read_mention(as_tweepy_reads_it(post), clean_json(USERS), BOT_ID, "KloutBot")
    for value in astuple(seen.row):
        if isinstance(value, str):
            assert printable(value), (text, value)
    for arg in seen.row.args:
        assert printable(arg)
    assert seen.row.command or seen.row.error_key or seen.ignored or not text.strip(), text
    fitted = fit_to_limit(text)
    assert weighted_length(fitted) <= MAX_WEIGHTED_LENGTH


test_any_mention_text_parses_to_a_storable_row, \
    test_any_mention_text_parses_to_a_storable_row_deep = fuzz_pair(_check_parsed,
                                                                   text=mention_text)


class XSession:
    """One X bot over real tweepy and FakeX for a whole hypothesis run."""

    def __init__(self, loop: Any, folder: Path) -> None:
        self.loop = loop
        self.clock = FixedClock(T0)
        self.fake = FakeX(bot_username="KloutBot", clock=self.clock.now)
        loop.run_until_complete(self.fake.start())
        config = config_with(api_base=self.fake.api_base, request_timeout_s=2.0,
                             replies_per_author_per_hour=1_000,
                             # A deep run asks thousands of questions in a few test hours.
                             daily_budget_usd=100_000.0, monthly_budget_usd=1_000_000.0)
        self.app = KloutApp(config, clock=self.clock, db_path=folder / "x.db")
        loop.run_until_complete(self.app.__aenter__())
        client = make_async_client(self.fake.api_base, **self.fake.credentials(),
                                   timeout=config.twitter.request_timeout_s)
        self.adapter = TwitterAdapter(self.app, client, sleep=ClockSleep(self.clock),
                                      rng=random.Random(1))
        self.people = itertools.count()
        self.poll()  # the first run reads history without answering it

    def poll(self) -> None:
        self.loop.run_until_complete(self.adapter.poll_once())
        self.clock.advance(timedelta(seconds=61))

    def close(self) -> None:
        self.loop.run_until_complete(close_client(self.adapter.client))
        self.loop.run_until_complete(self.app.__aexit__(None, None, None))
        self.loop.run_until_complete(self.fake.close())


@pytest.fixture
def x_session() -> Iterator[tuple[XSession, ErrorLog]]:
    with fuzz_session(XSession) as found:
        yield found


def _check_answered(x_session: tuple[XSession, ErrorLog], texts: list[str]) -> None:
    bot, errors = x_session
    fake = bot.fake
    asked = []
    for text in texts:
        author = fake.add_user(f"asker{next(bot.people)}", followers_count=10)
        asked.append(fake.post(author, text))
    bot.poll()
    for text, mention in zip(texts, asked, strict=True):
        replies = [p for p in fake.replies_to(mention) if p.author_id == fake.bot.id]
        if not replies:
            # X refuses the same words twice from one account; after trying other words
            # the bot gives up on that mention, says so in the log, and never retries.
            row = bot.loop.run_until_complete(bot.adapter.repo.get(mention.id))
            assert row is not None and row.status == "failed", (text, row)
            assert row.detail is not None and DUPLICATE in row.detail, (text, row)
            continue
        assert len(replies) == 1, (text, [r.text for r in replies])
        reply = replies[0].text
        assert_safe_reply(text, reply)
        # Stricter on X: any @handle in a reply mentions that account.
        assert "@" not in reply and weighted_length(reply) <= MAX_WEIGHTED_LENGTH, reply
    assert errors.take() == [], texts


# A poll each (~0.1 s): a tenth of the examples the other fuzz tests run.
test_mentions_end_to_end_each_get_one_safe_reply, \
    test_mentions_end_to_end_each_get_one_safe_reply_deep = fuzz_pair(
        _check_answered, fast=END_TO_END_FAST, deep=END_TO_END_SLOW,
        texts=st.lists(mention_text, min_size=1, max_size=5))
