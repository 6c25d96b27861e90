"""The pieces behind the adapter: reading a mention, reply length, spend bookkeeping."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.adapters.x_mentions import read_mention, snowflake_at, time_of
from bot.adapters.x_reply import ReplyComposer
from bot.adapters.x_spend import BudgetExceeded, SpendTracker, month_days
from bot.adapters.x_text import weighted_length
from bot.clock import FixedClock
from bot.render import Renderer
from bot.storage import Storage
from bot.storage.twitter import TwitterRepository
from commands.ports import Contributor, ScoreCard
from commands.types import Reply
from scoring.kinds import Kind

BOT = "100"
USERS = {"1": {"id": "1", "username": "alice"}, "2": {"id": "2", "username": "bob"}}


def mention(text: str, **fields: object) -> dict[str, object]:
    entities = []
    for name, user_id in (("KloutBot", BOT), ("alice", "1"), ("bob", "2")):
        at = text.find("@" + name)
        if at >= 0:
            entities.append({"start": at, "end": at + len(name) + 1, "username": name,
                             "id": user_id})
    return {"id": "1800000000000000000", "author_id": "1", "text": text,
            "entities": {"mentions": entities}, "conversation_id": "1800000000000000000",
            **fields}


def test_a_question_names_its_target_and_is_not_counted_as_a_mention() -> None:
    seen = read_mention(mention("@KloutBot what about @bob?"), USERS, BOT, "KloutBot")
    assert seen.ignored is None
    assert (seen.row.command, seen.row.targets) == ("klout", (("2", "bob"),))
    assert [a.kind for a in seen.activities()] == [Kind.MESSAGE]


def test_reply_context_handles_are_not_targets_but_the_reply_counts() -> None:
    post = mention("@bob @KloutBot what's mine?", in_reply_to_user_id="2",
                   referenced_tweets=[{"type": "replied_to", "id": "17"}])
    seen = read_mention(post, USERS, BOT, "KloutBot")
    assert (seen.row.command, seen.row.targets, seen.row.is_reply) == ("klout", (), True)
    kinds = [(a.kind, a.target.external_id if a.target else None) for a in seen.activities()]
    assert kinds == [(Kind.MESSAGE, None), (Kind.REPLY, "2")]


def test_unknown_handles_own_posts_and_reposts() -> None:
    seen = read_mention(mention("@KloutBot what about @ghost_acct."), USERS, BOT, "KloutBot")
    assert seen.row.targets == (("", "ghost_acct"),)
    own = read_mention({**mention("@KloutBot hi"), "author_id": BOT}, USERS, BOT, "KloutBot")
    assert own.ignored == "own post"
    repost = read_mention(mention("RT @bob: @KloutBot hi"), USERS, BOT, "KloutBot")
    assert repost.ignored == "repost"
    too_long = read_mention(mention("@KloutBot " + "x" * 3000), USERS, BOT, "KloutBot")
    assert too_long.row.error_key == "too_long"


def test_snowflake_ids_follow_the_clock() -> None:
    when = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert abs((time_of(snowflake_at(when)) - when).total_seconds()) < 0.002
    assert month_days(int(when.timestamp() // 86_400))[1] - month_days(
        int(when.timestamp() // 86_400))[0] == 30


async def test_replies_stay_within_280_weighted_characters(tmp_path: Path) -> None:
    clock = FixedClock(datetime(2026, 3, 2, tzinfo=UTC))
    async with Storage(tmp_path / "w.db") as store:
        composer = ReplyComposer(Renderer(), TwitterRepository(store.db), clock)
        huge = "🧑‍🚀世界" * 30
        card = ScoreCard("scored", huge, 77, "influencer", rank=3, members=12_345,
                         summary_key="replies",
                         top_contributors=tuple(Contributor(huge, 0.3) for _ in range(3)))
        for variant in range(28):
            text = composer.render(Reply("klout", {"card": card, "self": False,
                                                   "bot_name": "KloutBot"}), variant, huge)
            assert weighted_length(text) <= 280
            assert text.endswith("…") and "@" not in text
        plain = composer.render(Reply("klout", {"card": ScoreCard(
            "scored", "ana", 41, "regular", summary_key="mentions"), "self": True,
            "bot_name": "KloutBot"}), 0, "ana")
        assert not plain.endswith("…") and "41/100" in plain and "you" in plain


async def test_spend_is_billed_once_per_resource_per_day_and_capped(tmp_path: Path) -> None:
    clock = FixedClock(datetime(2026, 3, 30, 23, 0, tzinfo=UTC))
    async with Storage(tmp_path / "s.db") as store:
        spend = SpendTracker(TwitterRepository(store.db), clock, daily_usd=0.05,
                             monthly_usd=0.07)
        await spend.load()
        assert await spend.record("user_read", ["1", "2", "1"]) == 2
        assert await spend.record("user_read", ["2"]) == 0  # same resource, same UTC day
        assert await spend.worst_case("user_read", ["1", "3"]) == Decimal("0.010")
        await spend.record("user_read", ["3", "4"])  # $0.04 today
        with pytest.raises(BudgetExceeded, match="daily X budget") as daily:
            await spend.check(Decimal("0.015"), "a test")
        assert daily.value.until == datetime(2026, 3, 31, tzinfo=UTC)

        clock.set(datetime(2026, 3, 31, 0, 30, tzinfo=UTC))  # next day, same month
        assert await spend.record("user_read", ["1", "2"]) == 2  # billed again: new day
        await spend.check(Decimal("0.01"), "fits both caps")
        with pytest.raises(BudgetExceeded, match="monthly X budget") as monthly:
            await spend.check(Decimal("0.015"), "a test")
        assert monthly.value.until == datetime(2026, 4, 1, tzinfo=UTC)
        report = await spend.report()
        assert report.today == {"user_read": 2} and report.month == {"user_read": 6}

        clock.set(datetime(2026, 4, 1, 0, 30, tzinfo=UTC))  # a new month
        await spend.check(Decimal("0.04"), "fits again")
