"""The real tweepy AsyncClient, built by make_async_client, against the local FakeX.

Everything runs on 127.0.0.1; each call is bounded with asyncio.wait_for so nothing hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import aiohttp
import pytest
import tweepy
from tweepy.asynchronous import AsyncClient
from yarl import URL

from bot.adapters.x_transport import (
    ApiBaseSession,
    close_client,
    daily_limit_from_headers,
    make_async_client,
    problem_body,
    problem_types,
    rate_limit_from_headers,
)
from tests.fakes.x_fake import (
    DUPLICATE_CONTENT,
    NOT_AUTHORIZED_TYPE,
    NOT_FOUND_TYPE,
    REPLY_NOT_ALLOWED,
    REPLY_TARGET_GONE,
    TOO_LONG,
    USAGE_CAPPED_TYPE,
    FakeX,
    ManualClock,
)

T = TypeVar("T")
STEP = 3.0  # seconds any single call may take


async def call(awaitable: Awaitable[T]) -> T:
    return await asyncio.wait_for(awaitable, STEP)


@pytest.fixture
async def fake() -> AsyncIterator[FakeX]:
    async with FakeX(bot_username="KloutBot") as server:
        yield server


def _client(fake: FakeX, **overrides: Any) -> AsyncClient:
    credentials: dict[str, Any] = {**fake.credentials(), "timeout": 1.0, **overrides}
    return make_async_client(fake.api_base, **credentials)


@pytest.fixture
async def client(fake: FakeX) -> AsyncIterator[AsyncClient]:
    built = _client(fake)
    try:
        yield built
    finally:
        await close_client(built)


# --------------------------------------------------------------------------- transport


def test_rewrite_keeps_path_and_encoded_query_and_refuses_other_hosts() -> None:
    session = ApiBaseSession("http://127.0.0.1:9/prefix/")
    signed = URL("https://api.twitter.com/2/users/1/mentions?since_id=5&t=a%3Ab", encoded=True)
    assert str(session.rewrite(signed)) == (
        "http://127.0.0.1:9/prefix/2/users/1/mentions?since_id=5&t=a%3Ab"
    )
    assert str(session.rewrite("https://api.x.com/2/users/me")) == (
        "http://127.0.0.1:9/prefix/2/users/me"
    )
    with pytest.raises(ValueError, match="not the X API"):
        session.rewrite("https://example.com/2/users/me")
    with pytest.raises(ValueError, match="absolute"):
        ApiBaseSession("127.0.0.1:9")


async def test_get_me_over_oauth1(fake: FakeX, client: AsyncClient) -> None:
    me = await call(client.get_me(user_fields=["public_metrics", "created_at"]))
    assert isinstance(me, tweepy.Response)
    assert (me.data.id, me.data.username) == (int(fake.bot.id), "KloutBot")
    assert me.data.public_metrics["followers_count"] == 0
    assert me.errors == []
    request = fake.requests[-1]
    assert (request.method, request.path, request.auth) == ("GET", "/2/users/me", "oauth1")
    assert request.query == {"user.fields": "public_metrics,created_at"}

    with pytest.raises(tweepy.Forbidden) as info:  # app-only bearer on a user-context endpoint
        await call(client.get_me(user_auth=False))
    assert "Application-Only is forbidden" in str(info.value)


async def test_missing_or_bad_credentials_are_401(fake: FakeX) -> None:
    no_bearer = _client(fake, bearer_token=None)
    try:
        with pytest.raises(tweepy.Unauthorized):  # tweepy sends "Bearer None"
            await call(no_bearer.get_user(id=fake.bot.id))
    finally:
        await close_client(no_bearer)
    async with aiohttp.ClientSession() as raw:
        response = await call(raw.get(f"{fake.api_base}/2/users/me"))
        assert response.status == 401
        response.release()


async def test_mentions_since_id_with_expansions(fake: FakeX, client: AsyncClient) -> None:
    alice = fake.add_user("alice", followers_count=120, following_count=3, tweet_count=40)
    bob = fake.add_user("bob", description="bob's bio", listed_count=2)
    old = fake.post(alice, "@KloutBot old question")
    fake.post(bob, "no mention here")
    bot_post = fake.post(fake.bot, "Scores are in")
    first = fake.post(alice, "@KloutBot what's my score?")
    reply = fake.post(bob, "and mine?", reply_to=bot_post)  # gets "@KloutBot " like X's apps
    assert reply.text == "@KloutBot and mine?"

    page = await call(
        client.get_users_mentions(
            fake.bot.id,
            user_auth=True,
            since_id=old.id,
            expansions=["author_id", "referenced_tweets.id"],
            tweet_fields=["author_id", "created_at", "conversation_id", "referenced_tweets"],
            user_fields=["public_metrics", "description"],
        )
    )
    assert [t.id for t in page.data] == [int(reply.id), int(first.id)]  # newest first
    assert page.meta == {"result_count": 2, "newest_id": reply.id, "oldest_id": first.id}
    users = {u.username: u for u in page.includes["users"]}
    assert set(users) == {"alice", "bob"}
    assert users["alice"].public_metrics == {
        "followers_count": 120,
        "following_count": 3,
        "tweet_count": 42,
        "listed_count": 0,
    }
    assert users["bob"].description == "bob's bio"
    assert [t.id for t in page.includes["tweets"]] == [int(bot_post.id)]
    assert page.data[0].referenced_tweets[0].type == "replied_to"
    assert page.data[0].conversation_id == int(bot_post.id)
    assert page.data[1].created_at.tzinfo is not None


async def test_mentions_paginate_and_reach_back_800(fake: FakeX, client: AsyncClient) -> None:
    carol = fake.add_user("carol")
    posts = [fake.post(carol, f"@KloutBot #{i}") for i in range(7)]
    first = await call(client.get_users_mentions(fake.bot.id, user_auth=True, max_results=5))
    assert [t.id for t in first.data] == [int(p.id) for p in reversed(posts[2:])]
    second = await call(
        client.get_users_mentions(
            fake.bot.id,
            user_auth=True,
            max_results=5,
            pagination_token=first.meta["next_token"],
        )
    )
    assert [t.id for t in second.data] == [int(posts[1].id), int(posts[0].id)]
    assert "next_token" not in second.meta
    with pytest.raises(tweepy.BadRequest, match="max_results"):
        await call(client.get_users_mentions(fake.bot.id, user_auth=True, max_results=4))
    with pytest.raises(tweepy.BadRequest, match="public_metric"):  # field typos are refused
        await call(
            client.get_users_mentions(fake.bot.id, user_auth=True, tweet_fields=["public_metric"])
        )
    fake.mentions_reach = 3
    capped = await call(client.get_users_mentions(fake.bot.id, user_auth=True, max_results=5))
    assert capped.meta["result_count"] == 3 and "next_token" not in capped.meta


async def test_reply_to_a_mention(fake: FakeX, client: AsyncClient) -> None:
    alice = fake.add_user("alice")
    mention = fake.post(alice, "@KloutBot score me")
    created = await call(
        client.create_tweet(text="alice: 42/100", in_reply_to_tweet_id=mention.id, user_auth=True)
    )
    [reply] = fake.replies_to(mention.id)
    assert created.data == {
        "id": reply.id,
        "text": "alice: 42/100",
        "edit_history_tweet_ids": [reply.id],
    }
    assert reply.author_id == fake.bot.id
    assert reply.in_reply_to_user_id == alice.id
    assert reply.conversation_id == mention.conversation_id
    assert int(reply.id) > int(mention.id)
    assert fake.ledger.counts["reply_create"] == 1
    assert fake.ledger.total_usd == Decimal("0.010")

    timeline = await call(
        client.get_users_tweets(
            fake.bot.id,
            user_auth=True,
            since_id=mention.id,
            tweet_fields=["in_reply_to_user_id", "referenced_tweets", "conversation_id"],
        )
    )
    [own] = timeline.data
    assert own.in_reply_to_user_id == int(alice.id)
    assert own.referenced_tweets[0].id == int(mention.id)


async def test_reply_to_a_non_mentioning_author_is_forbidden(
    fake: FakeX, client: AsyncClient
) -> None:
    dave = fake.add_user("dave")
    unrelated = fake.post(dave, "just a post")
    with pytest.raises(tweepy.Forbidden) as info:
        await call(client.create_tweet(text="hi", in_reply_to_tweet_id=unrelated.id))
    assert info.value.response.status == 403
    assert info.value.api_messages == [REPLY_NOT_ALLOWED]
    assert fake.replies_to(unrelated.id) == []

    fake.delete(unrelated)
    with pytest.raises(tweepy.Forbidden, match=REPLY_TARGET_GONE):
        await call(client.create_tweet(text="hi", in_reply_to_tweet_id=unrelated.id))


async def test_duplicate_and_too_long_posts(fake: FakeX, client: AsyncClient) -> None:
    await call(client.create_tweet(text="Leaderboard is up"))
    with pytest.raises(tweepy.Forbidden) as info:
        await call(client.create_tweet(text="Leaderboard is up"))
    assert info.value.api_messages == [DUPLICATE_CONTENT]
    assert len(fake.posts_by(fake.bot)) == 1

    await call(client.create_tweet(text="x" * 280))
    await call(client.create_tweet(text="日" * 140))
    with pytest.raises(tweepy.BadRequest) as too_long:
        await call(client.create_tweet(text="y" * 281))
    assert too_long.value.api_messages == [TOO_LONG]
    assert fake.ledger.counts["post_create"] == 3


async def test_get_users_partial_not_found(fake: FakeX, client: AsyncClient) -> None:
    alice = fake.add_user("alice", followers_count=7)
    fake.add_user("ghost", suspended=True)
    found = await call(
        client.get_users(ids=[alice.id, "12345"], user_fields=["public_metrics"], user_auth=True)
    )
    assert [u.username for u in found.data] == ["alice"]
    assert found.data[0].public_metrics["followers_count"] == 7
    [error] = found.errors
    assert error["type"] == NOT_FOUND_TYPE
    assert error["resource_id"] == "12345" and error["parameter"] == "ids"
    assert error["detail"] == "Could not find user with ids: [12345]."

    by_name = await call(client.get_users(usernames=["ALICE", "nobody", "ghost"]))
    assert [u.id for u in by_name.data] == [int(alice.id)]
    assert [e["value"] for e in by_name.errors] == ["nobody", "ghost"]
    assert "suspended" in by_name.errors[1]["detail"]

    missing = await call(client.get_user(username="nobody"))
    assert missing.data is None and missing.errors[0]["type"] == NOT_FOUND_TYPE
    with pytest.raises(tweepy.BadRequest):
        await call(client.get_users(ids=[str(i) for i in range(1, 102)]))


async def test_tweet_lookup_deleted_and_protected(fake: FakeX, client: AsyncClient) -> None:
    alice = fake.add_user("alice")
    locked = fake.add_user("locked", protected=True)
    visible = fake.post(alice, "hello")
    gone = fake.delete(fake.post(alice, "oops"))
    secret = fake.post(locked, "@KloutBot psst")

    single = await call(client.get_tweet(gone.id))
    assert single.data is None
    assert single.errors[0]["type"] == NOT_FOUND_TYPE
    many = await call(client.get_tweets([visible.id, gone.id, secret.id], user_auth=True))
    assert [t.id for t in many.data] == [int(visible.id)]
    assert [e["type"] for e in many.errors] == [NOT_FOUND_TYPE, NOT_AUTHORIZED_TYPE]

    own = await call(client.create_tweet(text="t"))
    deleted = await call(client.delete_tweet(own.data["id"]))
    assert deleted.data == {"deleted": True}
    assert len(fake.deleted_posts) == 2


async def test_rate_limit_429_exposes_reset_header() -> None:
    # The fake's clock is frozen, so the reset it announces is exact however loaded the
    # machine is (wall-clock comparisons here once failed under load).
    at = datetime(2026, 3, 1, 12, 0, 0, 400_000, tzinfo=UTC)
    async with FakeX(bot_username="KloutBot", clock=ManualClock(at)) as fake:
        client = _client(fake)
        try:
            fault = fake.inject(r"^/2/users/me$", 429, reset_in=0.05)
            with pytest.raises(tweepy.TooManyRequests) as info:
                await call(client.get_me())
            headers = info.value.response.headers
            assert headers["x-rate-limit-remaining"] == "0"
            assert info.value.reset_time == int(headers["x-rate-limit-reset"])
            limit = rate_limit_from_headers(headers)
            assert limit is not None and limit.remaining == 0
            # Reset is announced in whole seconds, rounded up: 12:00:00.45 -> 12:00:01.
            assert limit.seconds_until_reset(at) == pytest.approx(0.6)
            assert not any(t.endswith("/usage-capped")
                           for t in await problem_types(info.value))
            assert fault.fired == 1

            ok = await call(client.get_me())  # the fault was for one request only
            assert ok.data.username == "KloutBot"
        finally:
            await close_client(client)


async def test_usage_cap_is_distinguishable(fake: FakeX, client: AsyncClient) -> None:
    fake.inject(r"/mentions$", 429, usage_cap=True)
    with pytest.raises(tweepy.TooManyRequests) as info:
        await call(client.get_users_mentions(fake.bot.id, user_auth=True))
    assert USAGE_CAPPED_TYPE in await problem_types(info.value)
    assert (await problem_body(info.value))["title"] == "UsageCapExceeded"
    assert info.value.response.headers["x-rate-limit-remaining"] != "0"


async def test_natural_rate_limit_window(fake: FakeX, client: AsyncClient) -> None:
    fake.set_rate_limit("GET /2/users/me", 2)
    for _ in range(2):
        await call(client.get_me())
    with pytest.raises(tweepy.TooManyRequests) as info:
        await call(client.get_me())
    seen = [r.status for r in fake.requests_to("GET", "/2/users/me$")]
    assert seen == [200, 200, 429]
    limit = rate_limit_from_headers(info.value.response.headers)
    assert limit is not None and (limit.limit, limit.remaining) == (2, 0)
    assert 890 < limit.seconds_until_reset(datetime.now(UTC)) <= 901


async def test_daily_post_limit_is_separate_from_the_15_minute_window() -> None:
    async with FakeX(daily_post_limit=1) as fake:
        client = _client(fake)
        try:
            first = await call(client.create_tweet(text="one", user_auth=True))
            assert first.data["text"] == "one"
            with pytest.raises(tweepy.TooManyRequests) as info:
                await call(client.create_tweet(text="two", user_auth=True))
        finally:
            await close_client(client)
    headers = info.value.response.headers
    assert int(headers["x-rate-limit-remaining"]) > 0
    daily = daily_limit_from_headers(headers)
    assert daily is not None and daily.remaining == 0


async def test_server_errors_timeouts_and_drops(fake: FakeX, client: AsyncClient) -> None:
    fake.inject(r"^/2/users/me$", 503)
    with pytest.raises(tweepy.TwitterServerError) as info:
        await call(client.get_me())
    assert info.value.response.status == 503

    fake.inject(r"^/2/users/me$", 500, body="<html>over capacity</html>")
    with pytest.raises(aiohttp.ContentTypeError):  # tweepy cannot parse a non-JSON error body
        await call(client.get_me())

    fake.inject(r"^/2/users/me$", delay=5.0)
    slow = _client(fake, timeout=0.2)
    try:
        with pytest.raises(TimeoutError):
            await call(slow.get_me())
    finally:
        await close_client(slow)

    # aiohttp retries an idempotent request once when a reused keep-alive connection drops,
    # so a GET needs two drops in a row to surface (a POST is never retried).
    fake.inject(r"^/2/users/me$", drop=True, count=2)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await call(client.get_me())
    assert (await call(client.get_me())).data.username == "KloutBot"
    assert [r.fault for r in fake.requests_to("GET", "/2/users/me")][:5] == [
        "503",
        "500",
        "delay5s-pass",
        "drop",
        "drop",
    ]


async def test_commit_then_fail_stores_the_post(fake: FakeX, client: AsyncClient) -> None:
    alice = fake.add_user("alice")
    mention = fake.post(alice, "@KloutBot rate me")
    fake.inject(r"^/2/tweets$", 503, method="POST", after_commit=True)
    with pytest.raises(tweepy.TwitterServerError):
        await call(client.create_tweet(text="alice: 50", in_reply_to_tweet_id=mention.id))
    assert [p.text for p in fake.replies_to(mention.id)] == ["alice: 50"]  # committed anyway
    assert fake.ledger.counts["reply_create"] == 1

    # A naive retry is refused as duplicate content rather than double-posting.
    with pytest.raises(tweepy.Forbidden, match="duplicate content"):
        await call(client.create_tweet(text="alice: 50", in_reply_to_tweet_id=mention.id))

    fake.inject(r"^/2/tweets$", method="POST", drop=True, after_commit=True)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await call(client.create_tweet(text="second", in_reply_to_tweet_id=mention.id))
    assert [p.text for p in fake.replies_to(mention.id)] == ["alice: 50", "second"]


async def test_wait_for_request_sees_an_in_flight_call(fake: FakeX, client: AsyncClient) -> None:
    fake.inject(r"^/2/tweets$", method="POST", delay=0.2)
    task = asyncio.create_task(call(client.create_tweet(text="hello")))
    seen = await fake.wait_for_request("POST", r"^/2/tweets$", timeout=2.0)
    assert seen.json == {"text": "hello"} and seen.status is None
    await task
    assert seen.status == 201
    with pytest.raises(TimeoutError, match="DELETE"):
        await fake.wait_for_request("DELETE", r"^/2/tweets/", timeout=0.05)


async def test_random_faults_are_seeded(fake: FakeX, client: AsyncClient) -> None:
    def outcomes() -> list[int | None]:
        return [r.status for r in fake.requests_to("GET", "/2/users/me")]

    async def run(seed: int) -> list[int | None]:
        fake.requests.clear()
        fake.clear_faults()
        fake.inject_random(0.5, seed=seed, kinds=("500", "503"))
        for _ in range(12):
            with contextlib.suppress(tweepy.TwitterServerError):
                await call(client.get_me())
        return outcomes()

    first, again = await run(7), await run(7)
    assert first == again
    assert {200, 500, 503} >= set(first) and 200 in first and set(first) - {200}


async def test_search_recent(fake: FakeX, client: AsyncClient) -> None:
    alice = fake.add_user("alice")
    bob = fake.add_user("bob")
    a1 = fake.post(alice, "@KloutBot klout please")
    fake.post(bob, "@KloutBot me too")
    fake.post(alice, "unrelated")
    result = await call(client.search_recent_tweets("from:alice @KloutBot", user_auth=True))
    assert [t.id for t in result.data] == [int(a1.id)]
    words = await call(client.search_recent_tweets("KLOUT -from:bob"))
    assert [t.id for t in words.data] == [int(a1.id)]


async def test_ledger_charges_once_per_resource_per_utc_day() -> None:
    clock = ManualClock(datetime(2026, 3, 1, 23, 50, tzinfo=UTC))
    async with FakeX(clock=clock) as fake:
        alice = fake.add_user("alice")
        mention = fake.post(alice, "@KloutBot hi")
        client = _client(fake)
        try:
            for _ in range(2):
                await call(
                    client.get_users_mentions(fake.bot.id, user_auth=True, expansions="author_id")
                )
                await call(client.get_user(id=alice.id))
                await call(client.get_me())
            assert fake.ledger.counts == {
                "post_read": 0,
                "user_read": 1,
                "owned_read": 2,
                "post_create": 0,
                "reply_create": 0,
                "media_upload": 0,
            }
            assert fake.ledger.total_usd == Decimal("0.012")

            clock.advance(minutes=15)  # past midnight UTC: a new billing day
            await call(client.get_user(id=alice.id))
            # app-only bearer: the same mentions are plain post reads, not owned reads
            await call(client.get_users_mentions(fake.bot.id))
        finally:
            await close_client(client)
    day1, day2 = date(2026, 3, 1), date(2026, 3, 2)
    assert fake.ledger.charged("owned_read", mention.id, day1)
    assert fake.ledger.charged("post_read", mention.id, day2)
    assert fake.ledger.total_for(day2) == Decimal("0.015")
    assert fake.ledger.summary()["by_day"] == {
        "2026-03-01": Decimal("0.012"),
        "2026-03-02": Decimal("0.015"),
    }
    assert fake.ledger.total_usd == Decimal("0.027")


def test_clock_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        FakeX(clock=lambda: datetime(2026, 1, 1))  # noqa: DTZ001
