"""The X API calls the bot makes, with retries, rate limits, budget checks and billing.

Every method:

* checks the worst case it could cost against the budget first (SpendTracker.check);
* handles 429 itself: waits for ``x-rate-limit-reset`` plus jitter, or treats a
  usage-capped 429 (and a 402) as budget exhaustion (BudgetExceeded);
* retries reads with exponential backoff on 5xx, dropped connections and timeouts;
  a post is never retried blindly: an ambiguous failure raises PostOutcomeUnknown
  and the caller checks the bot's own timeline before trying again;
* records what the response returned as billable resources, classified as X does
  (posts by or mentioning the bot are owned reads under user context).

Responses come back as plain dicts (X's JSON), so nothing tweepy-shaped leaks further.
tweepy is called with only the keyword arguments each method declares: an unexpected
one makes it call the deprecated ``log.warn``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import aiohttp
import tweepy
import tweepy.asynchronous

from bot.adapters.text_edge import clean_json
from bot.adapters.x_media import upload_image
from bot.adapters.x_spend import PRICES, BudgetExceeded, SpendTracker
from bot.adapters.x_transport import problem_body, problem_types, rate_limit_from_headers
from bot.clock import Clock

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

MENTION_TWEET_FIELDS = ["author_id", "created_at", "conversation_id", "in_reply_to_user_id",
                        "referenced_tweets", "entities"]
# most_recent_tweet_id costs nothing extra and lets the engagement probe read one post;
# created_at neither, and dates the account for the earned base (docs/scoring.md).
USER_FIELDS = ["public_metrics", "protected", "most_recent_tweet_id", "created_at"]
SAMPLE_TWEET_FIELDS = ["author_id", "public_metrics", "entities"]
PROBE_TWEET_FIELDS = ["author_id", "public_metrics", "entities", "referenced_tweets"]
OWN_TWEET_FIELDS = ["author_id", "created_at", "referenced_tweets", "text"]
PAGE_MAX = 100
BATCH_MAX = 100
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 120.0
JITTER_S = 2.0
USAGE_CAP_RECHECK = timedelta(hours=1)
_TRANSIENT = (tweepy.TwitterServerError, aiohttp.ClientError, TimeoutError)


class XUnavailable(Exception):
    """X kept failing (5xx, timeouts, rate limits) after every retry."""


class PostOutcomeUnknown(Exception):
    """A create call failed in a way that does not say whether the post exists."""


class MediaFailed(Exception):
    """An image upload did not give a media id; the reply goes as text. `until`: X's
    rate-limit reset when it said 429 (no upload is tried before then)."""

    def __init__(self, cause: str, until: datetime | None = None) -> None:
        super().__init__(cause)
        self.until = until


@dataclass(frozen=True, slots=True)
class Page:
    data: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


def _as_dict(item: Any) -> dict[str, Any]:
    # The one place X's JSON enters: its strings are cleaned here (text_edge).
    raw = getattr(item, "data", item)
    return clean_json(dict(raw)) if isinstance(raw, dict) else {}


def _page(response: tweepy.Response) -> Page:
    data = response.data
    items = data if isinstance(data, list) else ([data] if data is not None else [])
    includes = response.includes or {}
    return Page([_as_dict(d) for d in items], [_as_dict(u) for u in includes.get("users", [])],
                clean_json(list(response.errors or [])), clean_json(dict(response.meta or {})))


def mention_ids(post: dict[str, Any]) -> set[str]:
    mentions = (post.get("entities") or {}).get("mentions") or []
    return {str(m["id"]) for m in mentions if isinstance(m, dict) and m.get("id")}


class XApi:
    def __init__(self, client: tweepy.asynchronous.AsyncClient, spend: SpendTracker,
                 clock: Clock, *, sleep: Sleep, rng: random.Random | None = None,
                 max_retries: int = 4) -> None:
        self.client = client
        self.spend = spend
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.max_retries = max_retries
        self.bot_id = ""
        self.calls = 0
        # Reads leave room for one reply, so answering a claimed mention never waits
        # on money spent estimating it.
        self.keep = PRICES["reply_create"]

    # -- plumbing ---------------------------------------------------------------
    async def _call(self, what: str, fn: Callable[[], Awaitable[Any]], *,
                    idempotent: bool = True) -> Any:
        attempt = 0
        while True:
            self.calls += 1
            try:
                return await fn()
            except tweepy.TooManyRequests as exc:
                if any(t.endswith("/usage-capped") for t in await problem_types(exc)):
                    body = await problem_body(exc)
                    raise BudgetExceeded(
                        f"X usage cap reached ({body.get('detail', 'usage capped')})",
                        self.clock.now() + USAGE_CAP_RECHECK) from exc
                wait = self._reset_wait(exc, attempt)
                cause = "rate limited (429)"
                log.warning("X rate limit on %s; retrying in %.1fs", what, wait)
            except tweepy.HTTPException as exc:
                status = getattr(exc.response, "status", None)
                if status == 402:
                    raise BudgetExceeded("X account has no credits left (402)",
                                         self.clock.now() + USAGE_CAP_RECHECK) from exc
                if not isinstance(exc, tweepy.TwitterServerError):
                    raise
                if not idempotent:
                    raise PostOutcomeUnknown(f"{what}: X answered {status}") from exc
                wait = self._backoff(attempt)
                cause = f"X answered {status}"
                log.warning("X %s on %s; retrying in %.1fs", status, what, wait)
            except _TRANSIENT as exc:
                if not idempotent:
                    raise PostOutcomeUnknown(f"{what}: {type(exc).__name__}") from exc
                wait = self._backoff(attempt)
                cause = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                log.warning("X %s on %s; retrying in %.1fs", type(exc).__name__, what, wait)
            attempt += 1
            if attempt > self.max_retries:
                raise XUnavailable(f"{what} failed {attempt} times ({cause}); giving up for now")
            await self.sleep(wait)

    def _backoff(self, attempt: int) -> float:
        return min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** attempt) + self.rng.uniform(0, JITTER_S)

    def _reset_wait(self, exc: tweepy.TooManyRequests, attempt: int) -> float:
        limit = rate_limit_from_headers(exc.response.headers)
        if limit is None:
            return self._backoff(attempt)
        return limit.seconds_until_reset(self.clock.now()) + self.rng.uniform(0, JITTER_S)

    async def _bill_posts(self, posts: Iterable[dict[str, Any]]) -> None:
        owned: list[str] = []
        others: list[str] = []
        for post in posts:
            mine = str(post.get("author_id", "")) == self.bot_id or self.bot_id in mention_ids(post)
            (owned if mine else others).append(str(post["id"]))
        await self.spend.record("owned_read", owned)
        await self.spend.record("post_read", others)

    async def _bill_users(self, users: Iterable[dict[str, Any]]) -> None:
        ids = [str(u["id"]) for u in users]
        await self.spend.record("owned_read", [i for i in ids if i == self.bot_id])
        await self.spend.record("user_read", [i for i in ids if i != self.bot_id])

    # -- reads --------------------------------------------------------------------
    async def me(self) -> dict[str, Any]:
        await self.spend.check(PRICES["owned_read"], "looking up the bot's account",
                               keep=self.keep)
        response = await self._call("GET /2/users/me", lambda: self.client.get_me(user_auth=True))
        page = _page(response)
        if not page.data:
            raise XUnavailable("GET /2/users/me returned no user")
        self.bot_id = str(page.data[0]["id"])
        await self._bill_users(page.data)
        return page.data[0]

    async def mentions(self, *, since_id: str | None, max_results: int,
                       pagination_token: str | None = None, with_authors: bool = True) -> Page:
        per_post = PRICES["owned_read"] + (PRICES["user_read"] if with_authors else 0)
        await self.spend.check(per_post * max_results, "a mentions poll", keep=self.keep)
        params: dict[str, Any] = {"max_results": max_results,
                                  "tweet_fields": MENTION_TWEET_FIELDS}
        if with_authors:
            params.update(expansions=["author_id"], user_fields=USER_FIELDS)
        if since_id:
            params["since_id"] = since_id
        if pagination_token:
            params["pagination_token"] = pagination_token
        response = await self._call("GET /2/users/:id/mentions", lambda: (
            self.client.get_users_mentions(self.bot_id, user_auth=True, **params)))
        page = _page(response)
        await self._bill_posts(page.data)
        await self._bill_users(page.users)
        return page

    async def own_posts(self, *, since_id: str, pagination_token: str | None = None) -> Page:
        await self.spend.check(PRICES["owned_read"] * PAGE_MAX, "reading the bot's timeline",
                               keep=self.keep)
        params: dict[str, Any] = {"max_results": PAGE_MAX, "since_id": since_id,
                                  "tweet_fields": OWN_TWEET_FIELDS}
        if pagination_token:
            params["pagination_token"] = pagination_token
        response = await self._call("GET /2/users/:id/tweets (own)", lambda: (
            self.client.get_users_tweets(self.bot_id, user_auth=True, **params)))
        page = _page(response)
        await self._bill_posts(page.data)
        return page

    async def users(self, *, ids: list[str] | None = None,
                    usernames: list[str] | None = None, with_bio: bool = False) -> Page:
        """One batched lookup (at most 100 ids or usernames); `with_bio` adds the
        description (for link verification; profiles never keep it)."""
        fields = [*USER_FIELDS, "description"] if with_bio else USER_FIELDS
        wanted = ids or usernames or []
        if not wanted or len(wanted) > BATCH_MAX:
            raise ValueError(f"look up 1..{BATCH_MAX} users at a time, not {len(wanted)}")
        if ids:
            worst = await self.spend.worst_case("user_read", ids)
        else:
            worst = PRICES["user_read"] * len(wanted)
        await self.spend.check(worst, f"looking up {len(wanted)} users", keep=self.keep)
        if ids:
            call = partial(self.client.get_users, ids=ids, user_fields=fields, user_auth=True)
        else:
            call = partial(self.client.get_users, usernames=usernames, user_fields=fields,
                           user_auth=True)
        page = _page(await self._call("GET /2/users", call))
        await self._bill_users(page.data)
        return page

    async def recent_posts(self, user_id: str, count: int, *,
                           with_replies: bool = False) -> Page:
        """An account's latest original posts (no reposts; no replies unless asked),
        with their metrics."""
        max_results = min(PAGE_MAX, max(5, count))
        await self.spend.check(PRICES["post_read"] * max_results,
                               f"sampling {max_results} posts", keep=self.keep)
        exclude = ["retweets"] if with_replies else ["replies", "retweets"]
        response = await self._call("GET /2/users/:id/tweets", lambda: (
            self.client.get_users_tweets(user_id, user_auth=True, max_results=max_results,
                                         exclude=exclude, tweet_fields=SAMPLE_TWEET_FIELDS)))
        page = _page(response)
        await self._bill_posts(page.data)
        return page

    async def post_metrics(self, ids: list[str]) -> Page:
        """Posts by id (at most 100) with their public metrics (the engagement probe)."""
        if not ids or len(ids) > BATCH_MAX:
            raise ValueError(f"look up 1..{BATCH_MAX} posts at a time, not {len(ids)}")
        await self.spend.check(PRICES["post_read"] * len(ids),
                               f"probing {len(ids)} posts", keep=self.keep)
        response = await self._call("GET /2/tweets (probe)", lambda: self.client.get_tweets(
            ids, user_auth=True, tweet_fields=PROBE_TWEET_FIELDS))
        page = _page(response)
        await self._bill_posts(page.data)
        return page

    async def posts(self, ids: list[str]) -> Page:
        """Posts by id (at most 100), with their authors: who wrote a quoted post."""
        if not ids or len(ids) > BATCH_MAX:
            raise ValueError(f"look up 1..{BATCH_MAX} posts at a time, not {len(ids)}")
        await self.spend.check((PRICES["post_read"] + PRICES["user_read"]) * len(ids),
                               f"looking up {len(ids)} quoted posts", keep=self.keep)
        response = await self._call("GET /2/tweets", lambda: self.client.get_tweets(
            ids, user_auth=True, expansions=["author_id"], tweet_fields=["author_id"],
            user_fields=["created_at"]))
        page = _page(response)
        await self._bill_posts(page.data)
        await self._bill_users(page.users)
        return page

    # -- writes -------------------------------------------------------------------
    async def upload_image(self, png: bytes) -> str:
        """Upload a PNG (POST /2/media/upload); returns its media id.

        Tried once, never retried or waited for: an image is worth less than a prompt
        answer. Raises BudgetExceeded when the upload and the reply it is for would not
        both fit the budgets, MediaFailed for anything X answered but a media id.
        """
        price = self.spend.prices["media_upload"]
        await self.spend.check(price, "an image upload", keep=PRICES["reply_create"])
        self.calls += 1
        try:
            data = await upload_image(self.client, png)
        except tweepy.TooManyRequests as exc:
            limit = rate_limit_from_headers(exc.response.headers)
            until = limit.reset_at if limit is not None else None
            when = f" until {until.isoformat()}" if until else ""
            raise MediaFailed(f"rate limited (429){when}", until) from exc
        except tweepy.HTTPException as exc:
            status = getattr(exc.response, "status", None)
            detail = "; ".join(str(m) for m in exc.api_messages) or str(exc)
            raise MediaFailed(f"X answered {status}: {detail}") from exc
        except _TRANSIENT as exc:
            raise MediaFailed(f"{type(exc).__name__}: {exc}" if str(exc)
                              else type(exc).__name__) from exc
        media_id = str(data.get("id", ""))
        # Each upload is a request of its own: billed by its media id, never deduplicated.
        await self.spend.record("media_upload", [media_id])
        return media_id

    async def create(self, text: str, *, in_reply_to: str | None = None,
                     summoned: bool = True, media_ids: list[str] | None = None) -> str:
        """Post; returns the new post's id. Raises PostOutcomeUnknown when unsure.

        A reply to a post that mentioned the bot (`summoned`) is billed at the reply
        price; a reply to the bot's own post (a thread) costs as much as a new post.
        `media_ids` (uploaded by upload_image) are attached.
        """
        kind = "reply_create" if in_reply_to and summoned else "post_create"
        await self.spend.check(PRICES[kind], "a reply" if in_reply_to else "a post")
        extra: dict[str, Any] = {"media_ids": media_ids} if media_ids else {}
        if in_reply_to:
            call = partial(self.client.create_tweet, text=text,
                           in_reply_to_tweet_id=in_reply_to, user_auth=True, **extra)
        else:
            call = partial(self.client.create_tweet, text=text, user_auth=True, **extra)
        response = await self._call("POST /2/tweets", call, idempotent=False)
        data = response.data if isinstance(response.data, dict) else {}
        post_id = str(data.get("id", ""))
        if not post_id:
            raise PostOutcomeUnknown("POST /2/tweets returned no id")
        await self.spend.record(kind, [post_id])
        return post_id

    async def record_found_reply(self, post_id: str, created_at: datetime | None) -> None:
        """A reply whose response was lost but which X committed (and billed) anyway."""
        await self.spend.record("reply_create", [post_id], at=created_at)

    async def reserve(self, usd: Decimal, what: str) -> None:
        await self.spend.check(usd, what)
