"""A local fake of the X API v2 that the real tweepy ``AsyncClient`` talks to.

Use it with :func:`bot.adapters.x_transport.make_async_client`::

    async with FakeX(bot_username="KloutBot") as fake:
        alice = fake.add_user("alice", followers_count=120)
        mention = fake.post(alice, "@KloutBot what's my score?")
        client = make_async_client(fake.api_base, **fake.credentials())
        try:
            page = await client.get_users_mentions(fake.bot.id, user_auth=True,
                                                   expansions=["author_id"])
            await client.create_tweet(text="57", in_reply_to_tweet_id=mention.id)
        finally:
            await close_client(client)
        assert fake.replies_to(mention.id)[0].text == "57"

It listens on 127.0.0.1 (ephemeral port) and never touches the network. State lives in
memory and is inspected directly (``fake.posts``, ``fake.users``, ``fake.ledger``, ...).

Modelled:

* Auth: every request needs ``Authorization``. ``OAuth ...`` (tweepy's OAuth 1.0a user context)
  must carry the fake's consumer key and an access token ``"<user id>-..."``; the acting user
  is that id. Signatures are not verified (tweepy signs the api.twitter.com URL). ``Bearer
  <fake.app_bearer_token>`` is app-only; ``Bearer <fake.user_bearer_token>`` is OAuth 2.0 user
  context of the bot. ``Bearer None`` (tweepy without a bearer token) and unknown tokens
  get 401. App-only on ``/2/users/me``, ``POST``/``DELETE /2/tweets`` gets 403
  ``unsupported-authentication``.
* Endpoints: ``GET /2/users/me``, ``/2/users/:id``, ``/2/users?ids=``,
  ``/2/users/by?usernames=``, ``/2/users/by/username/:username``, ``/2/users/:id/mentions``,
  ``/2/users/:id/tweets``, ``/2/tweets?ids=``, ``/2/tweets/:id``, ``/2/tweets/search/recent``;
  ``POST /2/tweets`` (text, reply.in_reply_to_tweet_id, quote_tweet_id, media.media_ids);
  ``POST /2/media/upload`` (one-shot multipart: ``media``, ``media_category``,
  ``media_type``); ``DELETE /2/tweets/:id``. Unknown routes: 404 ``{"errors":
  [{"message": "Sorry, that page does not exist", "code": 34}]}``.
* Shapes: ``data`` / ``includes`` (users, tweets) / ``meta`` (result_count, newest_id,
  oldest_id, next_token) / ``errors``. Only the default fields (``id``, ``text``,
  ``edit_history_tweet_ids``; ``id``, ``name``, ``username``) unless ``tweet.fields`` /
  ``user.fields`` ask for more. Field names, expansions, query parameter names,
  ``max_results`` ranges and id formats are validated and refused with X's 400
  ``invalid-request`` problem, so adapter typos surface here.
* Partial errors on a 200: unknown ids/usernames (``resource-not-found``, "Could not find
  user with ids: [1]."), suspended users, deleted posts, posts of protected users
  (``not-authorized-for-resource``), deleted referenced posts in ``includes``.
  A single-resource lookup of a missing resource is a 200 with only ``errors``, as on X
  (tweepy returns ``Response(data=None, errors=[...])``, it does not raise ``NotFound``).
* Timelines: newest first; ``since_id``, ``until_id``, ``start_time``, ``end_time``,
  ``max_results`` (5..100, search 10..100), ``pagination_token`` (search: ``next_token``);
  mentions reach back 800 posts, user timelines 3200, search 7 days. Mentions are posts whose
  ``entities.mentions`` name the user (a reply made with :meth:`FakeX.post` gets the leading
  ``@author`` like X's apps add, so replies to the bot are mentions).
* Posting: weighted length (twitter-text v3, via ``bot.adapters.x_text``) over 280 -> 400
  "Your Tweet text is too long..." (``too_long_status=`` to use 403); reply to a post whose
  author did not mention or quote the bot -> 403 "Reply to this conversation is not
  allowed..."; same for quoting; duplicate of one of the bot's own posts from the last 24 h
  -> 403 "You are not allowed to create a Tweet with duplicate content."; deleted, protected
  or missing reply target -> 403 "You attempted to reply to a Tweet that is deleted or not
  visible to you."; 201 ``{"data": {"id", "text", "edit_history_tweet_ids"}}`` on success.
  ``media.media_ids`` must be 1-4 ids the author uploaded, not expired
  (``media_expires_after_s``, X's 24 h), else 400 "Your media IDs are invalid.".
* Media upload: PNG, JPEG or GIF sniffed from the bytes and matching ``media_type``, else
  400 ``invalid-request``; over ``image_max_bytes`` (X's 5 MB for images) 413; a
  ``media_category`` outside X's list 400. 200 ``{"data": {"id", "media_key", "size",
  "expires_after_secs", "image"}}``. Rate limited like any endpoint (429 with the reset
  headers), billed ``media_upload`` per upload. Media are kept in ``fake.media``.
  ``DELETE`` only by the author (403 otherwise, 404 ``resource-not-found`` if gone).
* Rate limits: every routed response carries ``x-rate-limit-limit/-remaining/-reset``
  (reset in epoch seconds of the fake clock) from a 15-minute window per (endpoint, user or
  app), decrementing; when exhausted, 429 ``{"title": "Too Many Requests", ...}`` with
  remaining 0. ``daily_post_limit=`` adds ``x-user-limit-24hour-*`` on ``POST /2/tweets``
  and a 429 while ``x-rate-limit-remaining`` is still positive. Limits are X's published
  ones; :meth:`FakeX.set_rate_limit` changes them.
* Billing (pay-per-use, 2026): see :data:`PRICES` and :class:`Ledger`. Charged only on
  success, for resources actually returned (``data`` and ``includes``), each (UTC day of the
  fake clock, kind, resource id) once. A post or user is an *owned read* under user context
  when it is the acting user, a post by them, or a post mentioning them; otherwise a post
  read or user read. App-only requests never make owned reads. A created post costs
  ``reply_create`` when it replies to a post that mentioned (or quoted) the author, else
  ``post_create``, and is charged when committed, even if the response is then lost.
* Faults (:meth:`FakeX.inject`, :meth:`FakeX.inject_random`): 429 rate limit (remaining 0,
  reset a fraction of a second ahead, rounded up to X's whole seconds), 429 usage cap
  (``type .../usage-capped``, title ``UsageCapExceeded``, rate headers untouched), 402
  credits depleted, 5xx, arbitrary status/body (a ``str`` body is sent as text/html, which
  tweepy cannot parse), delays longer than the client's timeout, dropped connections, and
  the same *after* the handler committed (post stored, response lost).

Not modelled: OAuth signature checks, the follow graph (protected posts are visible only to
their author), retweets, likes and bookmarks as actions, video and chunked media uploads,
media processing, the media link X appends to a post's text, polls, places, edits, note
tweets, streaming, DMs, the OR/grouping search operators (400), relevance ordering, the
restriction on programmatic @mentions in posts, app-level vs user-level limits beyond one
window per principal, the monthly caps themselves, and X's eventual-consistency delays.
Duplicate detection is exact text match (X's is fuzzier); the 24 h window is a guess.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from bot.adapters.x_text import MAX_WEIGHTED_LENGTH, weighted_length

PROBLEMS = "https://api.twitter.com/2/problems/"
NOT_FOUND_TYPE = PROBLEMS + "resource-not-found"
NOT_AUTHORIZED_TYPE = PROBLEMS + "not-authorized-for-resource"
USAGE_CAPPED_TYPE = PROBLEMS + "usage-capped"
INVALID_REQUEST_TYPE = PROBLEMS + "invalid-request"
UNSUPPORTED_AUTH_TYPE = PROBLEMS + "unsupported-authentication"
CREDITS_DEPLETED_TYPE = PROBLEMS + "credits-depleted"

REPLY_NOT_ALLOWED = (
    "Reply to this conversation is not allowed because you have not been mentioned or "
    "otherwise engaged by the author of the post you are replying to."
)
QUOTE_NOT_ALLOWED = (
    "Quoting this post is not allowed because you have not been mentioned or otherwise "
    "engaged by the author of the post you are quoting."
)
DUPLICATE_CONTENT = "You are not allowed to create a Tweet with duplicate content."
TOO_LONG = (
    "Your Tweet text is too long. For more information on how Twitter determines text "
    "length see https://github.com/twitter/twitter-text."
)
REPLY_TARGET_GONE = "You attempted to reply to a Tweet that is deleted or not visible to you."

#: Pay-per-use prices in US dollars per resource (X, 2026).
PRICES: dict[str, Decimal] = {
    "post_read": Decimal("0.005"),
    "user_read": Decimal("0.010"),
    "owned_read": Decimal("0.001"),
    "post_create": Decimal("0.015"),
    "reply_create": Decimal("0.010"),
    # Not on X's rate card; assumed as bot/adapters/x_spend.py assumes it.
    "media_upload": Decimal("0.005"),
}

TWEPOCH_MS = 1288834974657
FAKE_CONSUMER_KEY = "fake-consumer-key"
FAKE_CONSUMER_SECRET = "fake-consumer-secret"
FAKE_APP_BEARER = "fake-app-bearer"
WINDOW = timedelta(minutes=15)

#: Per-15-minute limits: endpoint -> (user context, app-only). None: app-only not allowed.
RATE_LIMITS: dict[str, tuple[int, int | None]] = {
    "GET /2/users/me": (75, None),
    "GET /2/users/:id/mentions": (300, 450),
    "GET /2/users/:id/tweets": (900, 1500),
    "GET /2/users": (900, 300),
    "GET /2/users/by": (900, 300),
    "GET /2/users/by/username/:username": (900, 300),
    "GET /2/users/:id": (900, 300),
    "GET /2/tweets": (900, 450),
    "GET /2/tweets/:id": (900, 450),
    "GET /2/tweets/search/recent": (300, 450),
    "POST /2/tweets": (100, None),
    "POST /2/media/upload": (500, None),
    "DELETE /2/tweets/:id": (50, None),
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


TWEET_FIELDS = _words(
    "article attachments author_id card_uri community_id context_annotations conversation_id "
    "created_at display_text_range edit_controls edit_history_tweet_ids entities geo id "
    "in_reply_to_user_id lang media_metadata non_public_metrics note_tweet organic_metrics "
    "possibly_sensitive promoted_metrics public_metrics referenced_tweets reply_settings "
    "scopes source suggested_source_links text withheld"
)
USER_FIELDS = _words(
    "affiliation confirmed_email connection_status created_at description entities id "
    "is_identity_verified location most_recent_tweet_id name parody pinned_tweet_id "
    "profile_banner_url profile_image_url protected public_metrics receives_your_dm "
    "subscription subscription_type url username verified verified_followers_count "
    "verified_type withheld"
)
TWEET_EXPANSIONS = _words(
    "article.cover_media article.media_entities attachments.media_keys "
    "attachments.media_source_tweet attachments.poll_ids author_id edit_history_tweet_ids "
    "entities.mentions.username geo.place_id in_reply_to_user_id entities.note.mentions.username "
    "referenced_tweets.id referenced_tweets.id.attachments.media_keys "
    "referenced_tweets.id.author_id"
)
USER_EXPANSIONS = _words("affiliation.user_id most_recent_tweet_id pinned_tweet_id")

_LOOKUP = (
    "expansions",
    "tweet.fields",
    "user.fields",
    "media.fields",
    "place.fields",
    "poll.fields",
)
_TIMELINE = (
    *_LOOKUP,
    "end_time",
    "max_results",
    "pagination_token",
    "since_id",
    "start_time",
    "until_id",
)
_ID = re.compile(r"[0-9]{1,19}")
_USERNAME = re.compile(r"[A-Za-z0-9_]{1,15}")
_MENTION = re.compile(
    r"(?<![A-Za-z0-9_!#$%&*@\uff20])[@\uff20]([A-Za-z0-9_]{1,15})(?![A-Za-z0-9_@])"
)

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def x_time(when: datetime) -> str:
    """X's timestamp format: ``2026-03-01T12:00:00.000Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


class ManualClock:
    """An injectable clock for ``FakeX(clock=...)``: frozen until moved."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start

    def __call__(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = when


@dataclass
class FakeUser:
    id: str
    username: str
    name: str
    created_at: datetime
    description: str = ""
    protected: bool = False
    verified: bool = False
    suspended: bool = False
    location: str | None = None
    url: str | None = None
    followers_count: int = 0
    following_count: int = 0
    tweet_count: int = 0
    listed_count: int = 0

    @property
    def bio(self) -> str:
        return self.description

    @property
    def public_metrics(self) -> dict[str, int]:
        return {
            "followers_count": self.followers_count,
            "following_count": self.following_count,
            "tweet_count": self.tweet_count,
            "listed_count": self.listed_count,
        }


@dataclass
class FakePost:
    id: str
    author_id: str
    text: str
    created_at: datetime
    conversation_id: str
    in_reply_to_user_id: str | None = None
    referenced_tweets: list[dict[str, str]] = field(default_factory=list)
    mentions: list[dict[str, Any]] = field(default_factory=list)
    retweet_count: int = 0
    reply_count: int = 0
    like_count: int = 0
    quote_count: int = 0
    bookmark_count: int = 0
    impression_count: int = 0
    deleted: bool = False
    deleted_at: datetime | None = None
    media_ids: list[str] = field(default_factory=list)

    def referenced(self, kind: str) -> str | None:
        return next((r["id"] for r in self.referenced_tweets if r["type"] == kind), None)

    @property
    def replied_to_id(self) -> str | None:
        return self.referenced("replied_to")

    @property
    def quoted_id(self) -> str | None:
        return self.referenced("quoted")

    @property
    def mention_ids(self) -> set[str]:
        return {m["id"] for m in self.mentions}

    @property
    def public_metrics(self) -> dict[str, int]:
        return {
            "retweet_count": self.retweet_count,
            "reply_count": self.reply_count,
            "like_count": self.like_count,
            "quote_count": self.quote_count,
            "bookmark_count": self.bookmark_count,
            "impression_count": self.impression_count,
        }


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    json: Any
    auth: str  # "oauth1" | "bearer-app" | "bearer-user" | "invalid" | "none"
    at: datetime
    status: int | None = None  # None while in flight, or when the connection was dropped
    fault: str | None = None


@dataclass(frozen=True)
class Charge:
    day: date
    kind: str
    resource_id: str
    usd: Decimal
    at: datetime
    endpoint: str


class Ledger:
    """What the fake X would bill: one :class:`Charge` per (UTC day, kind, resource id)."""

    def __init__(self) -> None:
        self.charges: list[Charge] = []
        self._seen: set[tuple[date, str, str]] = set()

    def charge(self, kind: str, resource_id: str, at: datetime, endpoint: str) -> bool:
        day = at.astimezone(UTC).date()
        key = (day, kind, resource_id)
        if key in self._seen:
            return False
        self._seen.add(key)
        self.charges.append(Charge(day, kind, resource_id, PRICES[kind], at, endpoint))
        return True

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(PRICES, 0)
        for c in self.charges:
            counts[c.kind] += 1
        return counts

    @property
    def total_usd(self) -> Decimal:
        return sum((c.usd for c in self.charges), Decimal("0"))

    def total_for(self, day: date) -> Decimal:
        return sum((c.usd for c in self.charges if c.day == day), Decimal("0"))

    def charged(self, kind: str, resource_id: str, day: date | None = None) -> bool:
        return any(
            c.kind == kind and c.resource_id == resource_id and (day is None or c.day == day)
            for c in self.charges
        )

    def summary(self) -> dict[str, Any]:
        days = sorted({c.day for c in self.charges})
        return {
            "counts": self.counts,
            "total_usd": self.total_usd,
            "by_day": {d.isoformat(): self.total_for(d) for d in days},
        }


@dataclass(frozen=True)
class FaultSpec:
    status: int | None = None
    usage_cap: bool = False
    reset_in: float = 0.05
    delay: float | None = None
    drop: bool = False
    after_commit: bool = False
    body: Mapping[str, Any] | str | None = None

    @property
    def label(self) -> str:
        parts = ["commit-then-" if self.after_commit else ""]
        if self.delay is not None:
            parts.append(f"delay{self.delay:g}s-")
        if self.drop:
            parts.append("drop")
        elif self.status is not None:
            parts.append("usage-cap" if self.usage_cap else str(self.status))
        else:
            parts.append("pass")
        return "".join(parts)


@dataclass
class Fault:
    """An injected fault; ``fired`` counts how often it took effect."""

    pattern: re.Pattern[str]
    method: str | None
    remaining: int | None
    specs: tuple[FaultSpec, ...]
    probability: float | None
    rng: random.Random
    fired: int = 0

    def pick(self, method: str, path: str) -> FaultSpec | None:
        if self.remaining == 0 or (self.method and self.method != method):
            return None
        if not self.pattern.search(path):
            return None
        if self.probability is not None and self.rng.random() >= self.probability:
            return None
        if self.remaining is not None:
            self.remaining -= 1
        self.fired += 1
        return self.specs[0] if len(self.specs) == 1 else self.rng.choice(self.specs)


class _ApiError(Exception):
    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


@dataclass
class _Principal:
    user: FakeUser | None  # None: app-only
    auth: str

    @property
    def key(self) -> str:
        return self.user.id if self.user else "app"


@dataclass
class _Window:
    started: datetime
    used: int = 0


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    key: str
    handler: Callable[..., Any]
    params: tuple[str, ...]


def _problem(
    status: int, detail: str, *, title: str | None = None, type_: str = "about:blank"
) -> dict[str, Any]:
    return {
        "title": title or HTTPStatus(status).phrase,
        "detail": detail,
        "type": type_,
        "status": status,
    }


def _invalid(message: str, parameters: Mapping[str, Sequence[str]]) -> _ApiError:
    return _ApiError(
        400,
        {
            "errors": [
                {"parameters": {k: list(v) for k, v in parameters.items()}, "message": message}
            ],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": INVALID_REQUEST_TYPE,
        },
    )


def _resource_error(
    kind: str,
    parameter: str,
    value: str,
    *,
    not_authorized: bool = False,
    detail: str | None = None,
) -> dict[str, Any]:
    if not_authorized:
        detail = (
            detail
            or f"Sorry, you are not authorized to see the {kind.capitalize()} "
            f"with {parameter}: [{value}]."
        )
        title, type_ = "Authorization Error", NOT_AUTHORIZED_TYPE
    else:
        detail = detail or f"Could not find {kind} with {parameter}: [{value}]."
        title, type_ = "Not Found Error", NOT_FOUND_TYPE
    return {
        "value": value,
        "detail": detail,
        "title": title,
        "resource_type": kind,
        "parameter": parameter,
        "resource_id": value,
        "type": type_,
    }


def _fault_body(spec: FaultSpec) -> tuple[str, str]:
    """(content type, text) for an injected error response."""
    status = spec.status or 500
    if isinstance(spec.body, str):
        return "text/html", spec.body
    if spec.body is not None:
        return "application/json", json.dumps(spec.body)
    if status == 429 and spec.usage_cap:
        body: dict[str, Any] = {
            "account_id": 1,
            "product_name": "pay-per-use",
            "title": "UsageCapExceeded",
            "period": "Monthly",
            "scope": "Product",
            "detail": "Usage cap exceeded: Monthly product cap",
            "type": USAGE_CAPPED_TYPE,
        }
    elif status == 402:
        body = _problem(
            402,
            "Your enrolled account does not have any credits to fulfill this request.",
            title="CreditsDepleted",
            type_=CREDITS_DEPLETED_TYPE,
        )
    else:
        phrase = HTTPStatus(status).phrase
        body = _problem(status, phrase)
    return "application/json", json.dumps(body)


@dataclass
class FakeMedia:
    """An uploaded image, usable in a post by its owner until it expires."""

    id: str
    media_key: str
    owner_id: str
    data: bytes
    media_type: str
    category: str
    created_at: datetime
    expires_after_s: int
    used_by: list[str] = field(default_factory=list)  # ids of posts attaching it


_IMAGE_MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg",
                b"GIF87a": "image/gif", b"GIF89a": "image/gif"}
MEDIA_CATEGORIES = frozenset({"tweet_image", "tweet_gif", "tweet_video", "dm_image",
                              "dm_gif", "dm_video", "subtitles"})
INVALID_MEDIA_IDS = "Your media IDs are invalid."


class FakeX:
    """The fake X API server. See the module docstring for what it models."""

    def __init__(
        self,
        bot_username: str = "KloutBot",
        *,
        bot_name: str | None = None,
        clock: Clock | None = None,
        consumer_key: str = FAKE_CONSUMER_KEY,
        consumer_secret: str = FAKE_CONSUMER_SECRET,
        app_bearer_token: str = FAKE_APP_BEARER,
        too_long_status: int = 400,
        duplicate_window: timedelta = timedelta(hours=24),
        enforce_reply_rules: bool = True,
        daily_post_limit: int | None = None,
        mentions_reach: int = 800,
        timeline_reach: int = 3200,
        search_window: timedelta = timedelta(days=7),
        image_max_bytes: int = 5 * 1024 * 1024,
        media_expires_after_s: int = 86_400,
    ) -> None:
        self._clock: Clock = clock or system_clock
        self.now()  # fail fast on a naive clock
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.app_bearer_token = app_bearer_token
        self.too_long_status = too_long_status
        self.duplicate_window = duplicate_window
        self.enforce_reply_rules = enforce_reply_rules
        self.daily_post_limit = daily_post_limit
        self.mentions_reach = mentions_reach
        self.timeline_reach = timeline_reach
        self.search_window = search_window
        self.image_max_bytes = image_max_bytes
        self.media_expires_after_s = media_expires_after_s
        self.media: dict[str, FakeMedia] = {}

        self.users: dict[str, FakeUser] = {}
        self.posts: dict[str, FakePost] = {}
        self.requests: list[RecordedRequest] = []
        self.ledger = Ledger()
        self.faults: list[Fault] = []
        self.rate_limits: dict[str, tuple[int, int | None]] = dict(RATE_LIMITS)
        self.window_length = WINDOW

        self._last_id = 0
        self._windows: dict[tuple[str, str], _Window] = {}
        self._daily_posts: dict[str, list[datetime]] = {}
        self._tokens: dict[str, tuple[str, str, int]] = {}
        self._token_seq = itertools.count(1)
        self._new_request = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._routes = self._build_routes()

        self.bot = self.add_user(bot_username, name=bot_name or bot_username)
        self.access_token = f"{self.bot.id}-fake-access-token"
        self.access_token_secret = "fake-access-token-secret"
        self.user_bearer_token = f"fake-oauth2-user-{self.bot.id}"

    # ----------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> FakeX:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        address = runner.addresses[0]
        self._port = int(address[1])

    async def close(self) -> None:
        self._closing.set()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    @property
    def api_base(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeX is not started (use `async with FakeX() as fake`)")
        return f"http://127.0.0.1:{self._port}"

    def credentials(self) -> dict[str, str]:
        """Keyword arguments for ``make_async_client`` (OAuth 1.0a as the bot + app bearer)."""
        return {
            "bearer_token": self.app_bearer_token,
            "consumer_key": self.consumer_key,
            "consumer_secret": self.consumer_secret,
            "access_token": self.access_token,
            "access_token_secret": self.access_token_secret,
        }

    def now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("FakeX clock must return aware datetimes")
        return now

    # ----------------------------------------------------------------- state helpers

    def _next_id(self) -> str:
        ms = int(self.now().timestamp() * 1000)
        candidate = max(ms - TWEPOCH_MS, 1) << 22
        self._last_id = max(candidate, self._last_id + 1)
        return str(self._last_id)

    def add_user(
        self,
        username: str,
        *,
        name: str | None = None,
        id: str | None = None,
        description: str = "",
        protected: bool = False,
        verified: bool = False,
        suspended: bool = False,
        location: str | None = None,
        url: str | None = None,
        followers_count: int = 0,
        following_count: int = 0,
        tweet_count: int = 0,
        listed_count: int = 0,
        created_at: datetime | None = None,
    ) -> FakeUser:
        if not _USERNAME.fullmatch(username):
            raise ValueError(f"invalid X username {username!r}")
        if self.find_user(username) is not None:
            raise ValueError(f"username {username!r} already taken")
        user_id = id or self._next_id()
        if not _ID.fullmatch(user_id) or user_id in self.users:
            raise ValueError(f"invalid or duplicate user id {user_id!r}")
        user = FakeUser(
            id=user_id,
            username=username,
            name=name or username,
            created_at=created_at or self.now(),
            description=description,
            protected=protected,
            verified=verified,
            suspended=suspended,
            location=location,
            url=url,
            followers_count=followers_count,
            following_count=following_count,
            tweet_count=tweet_count,
            listed_count=listed_count,
        )
        self.users[user.id] = user
        return user

    def find_user(self, username: str) -> FakeUser | None:
        wanted = username.lower()
        return next((u for u in self.users.values() if u.username.lower() == wanted), None)

    def user(self, ref: FakeUser | str) -> FakeUser:
        """Resolve a user by object, id or username (with or without ``@``)."""
        if isinstance(ref, FakeUser):
            return ref
        found = self.users.get(ref) or self.find_user(ref.lstrip("@"))
        if found is None:
            raise KeyError(f"no such user {ref!r}")
        return found

    def _parse_mentions(self, text: str) -> list[dict[str, Any]]:
        mentions = []
        for match in _MENTION.finditer(text):
            user = self.find_user(match.group(1))
            if user is not None:
                mentions.append(
                    {
                        "start": match.start(),
                        "end": match.end(),
                        "username": match.group(1),
                        "id": user.id,
                    }
                )
        return mentions

    def post(
        self,
        author: FakeUser | str,
        text: str,
        reply_to: FakePost | str | None = None,
        *,
        quote_of: FakePost | str | None = None,
        created_at: datetime | None = None,
        auto_mention: bool = True,
        like_count: int = 0,
        retweet_count: int = 0,
        quote_count: int = 0,
        impression_count: int = 0,
    ) -> FakePost:
        """Create a post as ``author`` directly (no API rules, no billing).

        ``@username`` mentions of known users become ``entities.mentions``. A reply gets the
        replied-to author's ``@handle`` prefixed (as X's apps do) unless already present or
        ``auto_mention=False``. Ids increase in creation order.
        """
        user = self.user(author)
        target = self._post_ref(reply_to) if reply_to is not None else None
        if target is not None and auto_mention and target.author_id != user.id:
            handle = self.users[target.author_id].username
            if not any(m["id"] == target.author_id for m in self._parse_mentions(text)):
                text = f"@{handle} {text}"
        quoted = self._post_ref(quote_of) if quote_of is not None else None
        created = self._store_post(user, text, target, quoted, created_at=created_at)
        created.like_count = like_count
        created.retweet_count = retweet_count
        created.quote_count = quote_count
        created.impression_count = impression_count
        return created

    def _post_ref(self, ref: FakePost | str) -> FakePost:
        return ref if isinstance(ref, FakePost) else self.posts[ref]

    def _store_post(
        self,
        author: FakeUser,
        text: str,
        reply_to: FakePost | None,
        quote_of: FakePost | None,
        *,
        created_at: datetime | None = None,
    ) -> FakePost:
        if created_at is not None and created_at.tzinfo is None:
            raise ValueError("created_at must be aware")
        post_id = self._next_id()
        refs = []
        if reply_to is not None:
            refs.append({"type": "replied_to", "id": reply_to.id})
            reply_to.reply_count += 1
        if quote_of is not None:
            refs.append({"type": "quoted", "id": quote_of.id})
            quote_of.quote_count += 1
        created = FakePost(
            id=post_id,
            author_id=author.id,
            text=text,
            created_at=created_at or self.now(),
            conversation_id=reply_to.conversation_id if reply_to else post_id,
            in_reply_to_user_id=reply_to.author_id if reply_to else None,
            referenced_tweets=refs,
            mentions=self._parse_mentions(text),
        )
        self.posts[post_id] = created
        author.tweet_count += 1
        return created

    def delete(self, post: FakePost | str) -> FakePost:
        """Delete a post as its author would (it disappears from every endpoint)."""
        target = self._post_ref(post)
        if not target.deleted:
            target.deleted = True
            target.deleted_at = self.now()
            self.users[target.author_id].tweet_count -= 1
        return target

    @property
    def deleted_posts(self) -> list[FakePost]:
        return [p for p in self.posts.values() if p.deleted]

    def replies_to(self, post: FakePost | str, *, include_deleted: bool = False) -> list[FakePost]:
        """Direct replies to a post, oldest first."""
        post_id = post.id if isinstance(post, FakePost) else post
        return [
            p
            for p in self.posts.values()
            if p.replied_to_id == post_id and (include_deleted or not p.deleted)
        ]

    def posts_by(self, user: FakeUser | str, *, include_deleted: bool = False) -> list[FakePost]:
        """A user's posts, oldest first."""
        author = self.user(user)
        return [
            p
            for p in self.posts.values()
            if p.author_id == author.id and (include_deleted or not p.deleted)
        ]

    def mentions_of(self, user: FakeUser | str) -> list[FakePost]:
        """Live posts mentioning a user, oldest first."""
        target = self.user(user)
        return [p for p in self.posts.values() if target.id in p.mention_ids and not p.deleted]

    # ----------------------------------------------------------------- test controls

    def inject(
        self,
        path_regex: str,
        status: int | None = None,
        count: int | None = 1,
        *,
        method: str | None = None,
        reset_in: float = 0.05,
        usage_cap: bool = False,
        delay: float | None = None,
        drop: bool = False,
        after_commit: bool = False,
        body: Mapping[str, Any] | str | None = None,
        probability: float | None = None,
        seed: int = 0,
    ) -> Fault:
        """Make matching requests fail.

        ``path_regex`` is searched in the request path. ``count`` is how many times the fault
        fires (``None``: forever); with ``probability`` each matching request fires with that
        chance, drawn from ``random.Random(seed)`` (pass ``count=None`` for an ongoing rate).
        ``status=None`` keeps the real response (useful with ``delay``). ``drop`` closes the
        connection without a response.
        ``after_commit`` runs the real handler first (a post is stored and billed), then
        applies the delay / status / drop: the client never learns it succeeded.
        """
        if status is None and not drop and delay is None:
            raise ValueError("inject needs a status, drop=True or a delay")
        if status is not None and not 400 <= status <= 599:
            raise ValueError("status must be 4xx or 5xx")
        if usage_cap and status != 429:
            raise ValueError("usage_cap applies to status 429")
        spec = FaultSpec(
            status=status,
            usage_cap=usage_cap,
            reset_in=reset_in,
            delay=delay,
            drop=drop,
            after_commit=after_commit,
            body=body,
        )
        return self._add_fault(path_regex, method, count, (spec,), probability, seed)

    def inject_random(
        self,
        rate: float,
        *,
        seed: int = 0,
        path_regex: str = r"^/2/",
        method: str | None = None,
        kinds: Iterable[str] = ("429", "usage_cap", "500", "503", "drop"),
        timeout_delay: float | None = None,
        commit_then_fail: bool = False,
        reset_in: float = 0.05,
    ) -> Fault:
        """A seeded random fault rate over many requests (e.g. ``rate=0.2``).

        ``kinds``: any of "429", "usage_cap", "500", "502", "503", "504", "drop" and, with
        ``timeout_delay`` set, "timeout". ``commit_then_fail`` adds post-commit variants
        (503 and drop after the handler ran); leave it off to keep writes exactly-once.
        """
        if not 0 < rate <= 1:
            raise ValueError("rate must be in (0, 1]")
        specs: list[FaultSpec] = []
        for kind in kinds:
            if kind == "usage_cap":
                specs.append(FaultSpec(status=429, usage_cap=True, reset_in=reset_in))
            elif kind == "drop":
                specs.append(FaultSpec(drop=True))
            elif kind == "timeout":
                if timeout_delay is None:
                    raise ValueError("kind 'timeout' needs timeout_delay")
                specs.append(FaultSpec(delay=timeout_delay))
            else:
                specs.append(FaultSpec(status=int(kind), reset_in=reset_in))
        if commit_then_fail:
            specs += [
                FaultSpec(status=503, after_commit=True),
                FaultSpec(drop=True, after_commit=True),
            ]
        if not specs:
            raise ValueError("no fault kinds")
        return self._add_fault(path_regex, method, None, tuple(specs), rate, seed)

    def _add_fault(
        self,
        path_regex: str,
        method: str | None,
        count: int | None,
        specs: tuple[FaultSpec, ...],
        probability: float | None,
        seed: int,
    ) -> Fault:
        fault = Fault(
            re.compile(path_regex),
            method.upper() if method else None,
            count,
            specs,
            probability,
            random.Random(seed),
        )
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    def set_rate_limit(self, endpoint: str, limit: int, *, app_limit: int | None = None) -> None:
        """Change a 15-minute limit, e.g. ``set_rate_limit("POST /2/tweets", 2)``."""
        if endpoint not in self.rate_limits:
            raise KeyError(f"unknown endpoint {endpoint!r}; one of {sorted(self.rate_limits)}")
        self.rate_limits[endpoint] = (limit, app_limit if app_limit is not None else limit)
        for key in [k for k in self._windows if k[0] == endpoint]:
            del self._windows[key]

    def requests_to(self, method: str, path_regex: str) -> list[RecordedRequest]:
        pattern = re.compile(path_regex)
        return [r for r in self.requests if r.method == method.upper() and pattern.search(r.path)]

    async def wait_for_request(
        self,
        method: str,
        path_regex: str,
        timeout: float = 2.0,  # noqa: ASYNC109 - bounded internally with asyncio.timeout
        *,
        count: int = 1,
    ) -> RecordedRequest:
        """Wait until ``count`` matching requests have arrived; return the ``count``-th.

        Requests are recorded on arrival (before faults, delays and handling).
        """
        try:
            async with asyncio.timeout(timeout):
                while True:
                    event = self._new_request
                    found = self.requests_to(method, path_regex)
                    if len(found) >= count:
                        return found[count - 1]
                    await event.wait()
        except TimeoutError:
            seen = [f"{r.method} {r.path}" for r in self.requests[-10:]]
            raise TimeoutError(
                f"no {method} {path_regex} (#{count}) within {timeout}s; last seen: {seen}"
            ) from None

    # ----------------------------------------------------------------- HTTP plumbing

    def _build_routes(self) -> list[_Route]:
        def route(
            method: str, path: str, key: str, handler: Callable[..., Any], params: Iterable[str]
        ) -> _Route:
            return _Route(method, re.compile(path), key, handler, tuple(params))

        return [
            route("GET", r"/2/users/me", "GET /2/users/me", self._get_me, _LOOKUP),
            route(
                "GET",
                r"/2/users/by/username/(?P<username>[^/]+)",
                "GET /2/users/by/username/:username",
                self._get_user_by_username,
                _LOOKUP,
            ),
            route(
                "GET",
                r"/2/users/by",
                "GET /2/users/by",
                self._get_users_by,
                ("usernames", *_LOOKUP),
            ),
            route(
                "GET",
                r"/2/users/(?P<id>[^/]+)/mentions",
                "GET /2/users/:id/mentions",
                self._get_mentions,
                _TIMELINE,
            ),
            route(
                "GET",
                r"/2/users/(?P<id>[^/]+)/tweets",
                "GET /2/users/:id/tweets",
                self._get_user_tweets,
                ("exclude", *_TIMELINE),
            ),
            route("GET", r"/2/users/(?P<id>[^/]+)", "GET /2/users/:id", self._get_user, _LOOKUP),
            route("GET", r"/2/users", "GET /2/users", self._get_users, ("ids", *_LOOKUP)),
            route(
                "GET",
                r"/2/tweets/search/recent",
                "GET /2/tweets/search/recent",
                self._search_recent,
                ("query", "next_token", "sort_order", *_TIMELINE),
            ),
            route("GET", r"/2/tweets/(?P<id>[^/]+)", "GET /2/tweets/:id", self._get_tweet, _LOOKUP),
            route("GET", r"/2/tweets", "GET /2/tweets", self._get_tweets, ("ids", *_LOOKUP)),
            route("POST", r"/2/tweets", "POST /2/tweets", self._create_tweet, ()),
            route("POST", r"/2/media/upload", "POST /2/media/upload", self._upload_media, ()),
            route(
                "DELETE", r"/2/tweets/(?P<id>[^/]+)", "DELETE /2/tweets/:id", self._delete_tweet, ()
            ),
        ]

    def _record(
        self, request: web.Request, query: dict[str, str], body: Any, auth: str
    ) -> RecordedRequest:
        recorded = RecordedRequest(request.method, request.path, query, body, auth, self.now())
        self.requests.append(recorded)
        event, self._new_request = self._new_request, asyncio.Event()
        event.set()
        return recorded

    def _authenticate(self, header: str | None) -> _Principal | None:
        if not header:
            return None
        scheme, _, credentials = header.partition(" ")
        if scheme == "Bearer":
            if credentials == self.app_bearer_token:
                return _Principal(None, "bearer-app")
            if credentials == self.user_bearer_token:
                return _Principal(self.bot, "bearer-user")
            return None
        if scheme == "OAuth":
            fields = {k: unquote(v) for k, v in re.findall(r'(\w+)="([^"]*)"', credentials)}
            if fields.get("oauth_consumer_key") != self.consumer_key:
                return None
            if not fields.get("oauth_signature") or not fields.get("oauth_nonce"):
                return None
            user = self.users.get(fields.get("oauth_token", "").partition("-")[0])
            return _Principal(user, "oauth1") if user is not None else None
        return None

    def _response(
        self, status: int, body: Mapping[str, Any] | None, headers: Mapping[str, str] | None = None
    ) -> web.Response:
        return web.Response(
            status=status,
            text=json.dumps(body) if body is not None else "",
            content_type="application/json",
            charset="utf-8",
            headers=dict(headers or {}),
        )

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    @staticmethod
    def _drop(request: web.Request) -> web.Response:
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)  # never reaches the client

    def _rate_headers(
        self, route: _Route, principal: _Principal, *, consume: bool
    ) -> tuple[dict[str, str], bool]:
        """(headers, exhausted) for the principal's window on this endpoint."""
        user_limit, app_limit = self.rate_limits[route.key]
        limit = user_limit if principal.user is not None else (app_limit or user_limit)
        now = self.now()
        key = (route.key, principal.key)
        window = self._windows.get(key)
        if window is None or now >= window.started + self.window_length:
            window = self._windows[key] = _Window(now)
        exhausted = window.used >= limit
        if consume and not exhausted:
            window.used += 1
        reset = math.ceil((window.started + self.window_length).timestamp())
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(max(limit - window.used, 0)),
            "x-rate-limit-reset": str(reset),
        }, exhausted

    def _daily_headers(self, principal: _Principal) -> tuple[dict[str, str], bool]:
        if self.daily_post_limit is None:
            return {}, False
        now = self.now()
        recent = [
            t for t in self._daily_posts.get(principal.key, []) if t > now - timedelta(hours=24)
        ]
        self._daily_posts[principal.key] = recent
        reset = recent[0] + timedelta(hours=24) if recent else now + timedelta(hours=24)
        return {
            "x-user-limit-24hour-limit": str(self.daily_post_limit),
            "x-user-limit-24hour-remaining": str(max(self.daily_post_limit - len(recent), 0)),
            "x-user-limit-24hour-reset": str(math.ceil(reset.timestamp())),
        }, len(recent) >= self.daily_post_limit

    def _fault_response(self, spec: FaultSpec, headers: dict[str, str]) -> web.Response:
        status = spec.status or 500
        if status == 429 and not spec.usage_cap:
            headers = dict(headers)
            headers["x-rate-limit-remaining"] = "0"
            headers["x-rate-limit-reset"] = str(math.ceil(self.now().timestamp() + spec.reset_in))
        content_type, text = _fault_body(spec)
        return web.Response(
            status=status, text=text, content_type=content_type, charset="utf-8", headers=headers
        )

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        body: Any = None
        if request.can_read_body and request.content_type == "multipart/form-data":
            # Media upload: the form's fields, files as bytes (what _upload_media reads).
            form = await request.post()
            body = {}
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    with value.file:  # aiohttp spools files; close them here
                        body[name] = value.file.read()
                else:
                    body[name] = str(value)
        elif request.can_read_body:
            raw = await request.text()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw
        principal = self._authenticate(request.headers.get("Authorization"))
        header = request.headers.get("Authorization", "")
        auth = principal.auth if principal else ("invalid" if header else "none")
        recorded = self._record(request, query, body, auth)

        response = await self._handle(request, recorded, principal, query, body)
        recorded.status = None if response is None else response.status
        return response if response is not None else self._drop(request)

    async def _handle(
        self,
        request: web.Request,
        recorded: RecordedRequest,
        principal: _Principal | None,
        query: dict[str, str],
        body: Any,
    ) -> web.Response | None:
        if principal is None:
            return self._response(401, _problem(401, "Unauthorized"))
        for route in self._routes:
            match = route.pattern.fullmatch(request.path)
            if match and route.method == request.method:
                break
        else:
            return self._response(
                404, {"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}
            )

        spec = next((s for f in self.faults if (s := f.pick(request.method, request.path))), None)
        if spec is not None:
            recorded.fault = spec.label
        if spec is not None and not spec.after_commit:
            if spec.delay is not None:
                await self._sleep(spec.delay)
                if self._closing.is_set():
                    return None
            if spec.drop:
                return None
            if spec.status is not None:
                headers, _ = self._rate_headers(route, principal, consume=False)
                return self._fault_response(spec, headers)

        response = self._serve(route, match.groupdict(), principal, query, body)

        if spec is not None and spec.after_commit:
            if spec.delay is not None:
                await self._sleep(spec.delay)
                if self._closing.is_set():
                    return None
            if spec.drop:
                return None
            if spec.status is not None:
                headers, _ = self._rate_headers(route, principal, consume=False)
                return self._fault_response(spec, headers)
        return response

    def _serve(
        self,
        route: _Route,
        path_args: dict[str, str],
        principal: _Principal,
        query: dict[str, str],
        body: Any,
    ) -> web.Response:
        if principal.user is None and self.rate_limits[route.key][1] is None:
            return self._response(
                403,
                _problem(
                    403,
                    "Authenticating with OAuth 2.0 Application-Only is forbidden for this "
                    "endpoint.  Supported authentication types are [OAuth 1.0a User Context, "
                    "OAuth 2.0 User Context].",
                    title="Unsupported Authentication",
                    type_=UNSUPPORTED_AUTH_TYPE,
                ),
            )
        headers, exhausted = self._rate_headers(route, principal, consume=True)
        if exhausted:
            return self._response(429, _problem(429, "Too Many Requests"), headers)
        if route.key == "POST /2/tweets":
            daily, over = self._daily_headers(principal)
            headers.update(daily)
            if over:
                return self._response(429, _problem(429, "Too Many Requests"), headers)
        try:
            self._check_params(route, query)
            status, payload = route.handler(principal, query, body, **path_args)
        except _ApiError as error:
            return self._response(error.status, error.body, headers)
        if route.key == "POST /2/tweets" and self.daily_post_limit is not None:
            self._daily_posts.setdefault(principal.key, []).append(self.now())
            headers.update(self._daily_headers(principal)[0])
        return self._response(status, payload, headers)

    # ----------------------------------------------------------------- validation

    @staticmethod
    def _check_params(route: _Route, query: Mapping[str, str]) -> None:
        for name, value in query.items():
            if name not in route.params:
                raise _invalid(
                    f"The query parameter [{name}] is not one of [{','.join(route.params)}]",
                    {name: [value]},
                )

    @staticmethod
    def _csv(query: Mapping[str, str], name: str) -> list[str]:
        raw = query.get(name, "")
        return [v for v in raw.split(",") if v] if raw else []

    def _fields(self, query: Mapping[str, str], name: str, allowed: frozenset[str]) -> set[str]:
        values = self._csv(query, name)
        for value in values:
            if value not in allowed:
                raise _invalid(
                    f"The `{name}` query parameter value [{value}] is not one of "
                    f"[{','.join(sorted(allowed))}]",
                    {name: [value]},
                )
        return set(values)

    @staticmethod
    def _check_id(value: str, parameter: str) -> str:
        if not _ID.fullmatch(value):
            raise _invalid(
                f"The `{parameter}` query parameter value [{value}] does not match ^[0-9]{{1,19}}$",
                {parameter: [value]},
            )
        return value

    @staticmethod
    def _max_results(query: Mapping[str, str], low: int, high: int, default: int) -> int:
        raw = query.get("max_results")
        if raw is None:
            return default
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise _invalid(
                f"The `max_results` query parameter value [{raw}] is not between {low} and {high}",
                {"max_results": [raw]},
            )
        return int(raw)

    @staticmethod
    def _time(query: Mapping[str, str], name: str) -> datetime | None:
        raw = query.get(name)
        if raw is None:
            return None
        try:
            when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            when = None
        if when is None or when.tzinfo is None:
            raise _invalid(f"Invalid '{name}':'{raw}'.", {name: [raw]})
        return when

    def _list_param(
        self, query: Mapping[str, str], name: str, pattern: re.Pattern[str]
    ) -> list[str]:
        values = self._csv(query, name)
        if not values:
            raise _invalid(f"The `{name}` query parameter can not be empty", {name: [""]})
        if len(values) > 100:
            raise _invalid(
                f"The number of values in the `{name}` query parameter list [{len(values)}] "
                "is not between 1 and 100",
                {name: [query[name]]},
            )
        for value in values:
            if not pattern.fullmatch(value):
                raise _invalid(
                    f"The `{name}` query parameter value [{value}] does not match "
                    f"{pattern.pattern}",
                    {name: [value]},
                )
        return list(dict.fromkeys(values))

    # ----------------------------------------------------------------- visibility & billing

    def _visible(self, post: FakePost, principal: _Principal) -> bool:
        author = self.users[post.author_id]
        if post.deleted or author.suspended:
            return False
        return not author.protected or (
            principal.user is not None and principal.user.id == author.id
        )

    def _post_error(
        self, post_id: str, parameter: str, principal: _Principal
    ) -> dict[str, Any] | None:
        post = self.posts.get(post_id)
        if post is None or post.deleted or self.users[post.author_id].suspended:
            return _resource_error("tweet", parameter, post_id)
        if not self._visible(post, principal):
            return _resource_error("tweet", parameter, post_id, not_authorized=True)
        return None

    def _user_error(self, value: str, parameter: str) -> dict[str, Any] | None:
        user = self.users.get(value) if parameter in {"id", "ids"} else self.find_user(value)
        if user is None:
            return _resource_error("user", parameter, value)
        if user.suspended:
            return _resource_error(
                "user", parameter, value, detail=f"User has been suspended: [{value}]."
            )
        return None

    def _bill_posts(self, posts: Iterable[FakePost], principal: _Principal, endpoint: str) -> None:
        me = principal.user.id if principal.auth != "bearer-app" and principal.user else None
        for post in posts:
            owned = me is not None and (post.author_id == me or me in post.mention_ids)
            self.ledger.charge(
                "owned_read" if owned else "post_read", post.id, self.now(), endpoint
            )

    def _bill_users(self, users: Iterable[FakeUser], principal: _Principal, endpoint: str) -> None:
        me = principal.user.id if principal.auth != "bearer-app" and principal.user else None
        for user in users:
            kind = "owned_read" if user.id == me else "user_read"
            self.ledger.charge(kind, user.id, self.now(), endpoint)

    # ----------------------------------------------------------------- rendering

    def _user_json(self, user: FakeUser, fields: set[str]) -> dict[str, Any]:
        data: dict[str, Any] = {"id": user.id, "name": user.name, "username": user.username}
        if "created_at" in fields:
            data["created_at"] = x_time(user.created_at)
        if "description" in fields:
            data["description"] = user.description
        if "protected" in fields:
            data["protected"] = user.protected
        if "verified" in fields:
            data["verified"] = user.verified
        if "verified_type" in fields:
            data["verified_type"] = "blue" if user.verified else "none"
        if "public_metrics" in fields:
            data["public_metrics"] = user.public_metrics
        if "location" in fields and user.location:
            data["location"] = user.location
        if "url" in fields:
            data["url"] = user.url or ""
        if "profile_image_url" in fields:
            data["profile_image_url"] = (
                f"https://pbs.twimg.com/profile_images/{user.id}/avatar_normal.jpg"
            )
        if "most_recent_tweet_id" in fields:
            latest = [p for p in self.posts.values() if p.author_id == user.id and not p.deleted]
            if latest:
                data["most_recent_tweet_id"] = latest[-1].id
        return data

    @staticmethod
    def _post_json(post: FakePost, fields: set[str]) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": post.id,
            "text": post.text,
            "edit_history_tweet_ids": [post.id],
        }
        if "author_id" in fields:
            data["author_id"] = post.author_id
        if "created_at" in fields:
            data["created_at"] = x_time(post.created_at)
        if "conversation_id" in fields:
            data["conversation_id"] = post.conversation_id
        if "in_reply_to_user_id" in fields and post.in_reply_to_user_id:
            data["in_reply_to_user_id"] = post.in_reply_to_user_id
        if "referenced_tweets" in fields and post.referenced_tweets:
            data["referenced_tweets"] = [dict(r) for r in post.referenced_tweets]
        if "entities" in fields and post.mentions:
            data["entities"] = {"mentions": [dict(m) for m in post.mentions]}
        if "public_metrics" in fields:
            data["public_metrics"] = post.public_metrics
        if "attachments" in fields and post.media_ids:
            data["attachments"] = {"media_keys": [f"3_{m}" for m in post.media_ids]}
        if "lang" in fields:
            data["lang"] = "en"
        if "possibly_sensitive" in fields:
            data["possibly_sensitive"] = False
        if "reply_settings" in fields:
            data["reply_settings"] = "everyone"
        if "edit_controls" in fields:
            data["edit_controls"] = {
                "edits_remaining": 5,
                "is_edit_eligible": False,
                "editable_until": x_time(post.created_at + timedelta(hours=1)),
            }
        return data

    def _posts_payload(
        self,
        posts: list[FakePost],
        principal: _Principal,
        query: Mapping[str, str],
        endpoint: str,
        errors: list[dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
        single: bool = False,
    ) -> dict[str, Any]:
        tweet_fields = self._fields(query, "tweet.fields", TWEET_FIELDS)
        user_fields = self._fields(query, "user.fields", USER_FIELDS)
        expansions = self._fields(query, "expansions", TWEET_EXPANSIONS)
        errors = list(errors or [])
        inc_users: dict[str, FakeUser] = {}
        inc_posts: dict[str, FakePost] = {}

        def add_user(user_id: str | None) -> None:
            if user_id and user_id in self.users and not self.users[user_id].suspended:
                inc_users.setdefault(user_id, self.users[user_id])

        for post in posts:
            if "author_id" in expansions:
                add_user(post.author_id)
            if "in_reply_to_user_id" in expansions:
                add_user(post.in_reply_to_user_id)
            if "entities.mentions.username" in expansions:
                for mention in post.mentions:
                    add_user(mention["id"])
            if {"referenced_tweets.id", "referenced_tweets.id.author_id"} & expansions:
                for ref in post.referenced_tweets:
                    problem = self._post_error(ref["id"], "referenced_tweets.id", principal)
                    if problem is not None:
                        if problem not in errors:
                            errors.append(problem)
                        continue
                    target = self.posts[ref["id"]]
                    if "referenced_tweets.id" in expansions:
                        inc_posts.setdefault(target.id, target)
                    if "referenced_tweets.id.author_id" in expansions:
                        add_user(target.author_id)

        payload: dict[str, Any] = {}
        if posts:
            rendered = [self._post_json(p, tweet_fields) for p in posts]
            payload["data"] = rendered[0] if single else rendered
        includes: dict[str, Any] = {}
        if inc_users:
            includes["users"] = [self._user_json(u, user_fields) for u in inc_users.values()]
        if inc_posts:
            includes["tweets"] = [self._post_json(p, tweet_fields) for p in inc_posts.values()]
        if includes:
            payload["includes"] = includes
        if errors:
            payload["errors"] = errors
        if meta is not None:
            payload["meta"] = meta
        self._bill_posts([*posts, *inc_posts.values()], principal, endpoint)
        self._bill_users(inc_users.values(), principal, endpoint)
        return payload

    def _users_payload(
        self,
        users: list[FakeUser],
        principal: _Principal,
        query: Mapping[str, str],
        endpoint: str,
        errors: list[dict[str, Any]] | None = None,
        single: bool = False,
    ) -> dict[str, Any]:
        user_fields = self._fields(query, "user.fields", USER_FIELDS)
        self._fields(query, "tweet.fields", TWEET_FIELDS)
        self._fields(query, "expansions", USER_EXPANSIONS)
        payload: dict[str, Any] = {}
        if users:
            rendered = [self._user_json(u, user_fields) for u in users]
            payload["data"] = rendered[0] if single else rendered
        if errors:
            payload["errors"] = errors
        self._bill_users(users, principal, endpoint)
        return payload

    def _page(
        self,
        posts: list[FakePost],
        query: Mapping[str, str],
        endpoint: str,
        subject: str,
        *,
        low: int,
        high: int,
        cursor_param: str = "pagination_token",
    ) -> tuple[list[FakePost], dict[str, Any]]:
        """Filter newest-first ``posts`` by the timeline parameters; return a page and meta."""
        size = self._max_results(query, low, high, 10)
        since = query.get("since_id")
        until = query.get("until_id")
        start, end = self._time(query, "start_time"), self._time(query, "end_time")
        if since is not None:
            self._check_id(since, "since_id")
            posts = [p for p in posts if int(p.id) > int(since)]
        if until is not None:
            self._check_id(until, "until_id")
            posts = [p for p in posts if int(p.id) < int(until)]
        if start is not None:
            posts = [p for p in posts if p.created_at >= start]
        if end is not None:
            posts = [p for p in posts if p.created_at < end]
        token = query.get(cursor_param) or query.get("pagination_token")
        if token is not None:
            saved = self._tokens.get(token)
            if saved is None or saved[:2] != (endpoint, subject):
                raise _invalid(
                    f"The `{cursor_param}` query parameter value [{token}] is not valid",
                    {cursor_param: [token]},
                )
            posts = [p for p in posts if int(p.id) < saved[2]]
        page = posts[:size]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta["newest_id"] = page[0].id
            meta["oldest_id"] = page[-1].id
        if len(posts) > size:
            next_token = f"7140dibdnow9c7btw{next(self._token_seq):08x}"
            self._tokens[next_token] = (endpoint, subject, int(page[-1].id))
            meta["next_token"] = next_token
        return page, meta

    def _newest_first(self, posts: Iterable[FakePost]) -> list[FakePost]:
        return sorted(posts, key=lambda p: int(p.id), reverse=True)

    # ----------------------------------------------------------------- endpoints

    def _get_me(
        self,
        principal: _Principal,
        query: Mapping[str, str],
        body: Any,
    ) -> tuple[int, dict[str, Any]]:
        assert principal.user is not None
        return 200, self._users_payload(
            [principal.user], principal, query, "GET /2/users/me", single=True
        )

    def _get_user(
        self, principal: _Principal, query: Mapping[str, str], body: Any, id: str
    ) -> tuple[int, dict[str, Any]]:
        self._check_id(id, "id")
        problem = self._user_error(id, "id")
        users = [] if problem else [self.users[id]]
        return 200, self._users_payload(
            users, principal, query, "GET /2/users/:id", [problem] if problem else None, single=True
        )

    def _get_user_by_username(
        self, principal: _Principal, query: Mapping[str, str], body: Any, username: str
    ) -> tuple[int, dict[str, Any]]:
        if not _USERNAME.fullmatch(username):
            raise _invalid(
                f"The `username` query parameter value [{username}] does not match "
                "^[A-Za-z0-9_]{1,15}$",
                {"username": [username]},
            )
        problem = self._user_error(username, "username")
        found = self.find_user(username)
        users = [found] if found is not None and problem is None else []
        return 200, self._users_payload(
            users,
            principal,
            query,
            "GET /2/users/by/username/:username",
            [problem] if problem else None,
            single=True,
        )

    def _lookup_users(
        self,
        principal: _Principal,
        query: Mapping[str, str],
        parameter: str,
        pattern: re.Pattern[str],
        endpoint: str,
    ) -> tuple[int, dict[str, Any]]:
        values = self._list_param(query, parameter, pattern)
        users: list[FakeUser] = []
        errors = []
        for value in values:
            problem = self._user_error(value, parameter)
            if problem is not None:
                errors.append(problem)
            else:
                found = self.users.get(value) if parameter == "ids" else self.find_user(value)
                assert found is not None
                users.append(found)
        return 200, self._users_payload(users, principal, query, endpoint, errors)

    def _get_users(
        self, principal: _Principal, query: Mapping[str, str], body: Any
    ) -> tuple[int, dict[str, Any]]:
        return self._lookup_users(principal, query, "ids", _ID, "GET /2/users")

    def _get_users_by(
        self, principal: _Principal, query: Mapping[str, str], body: Any
    ) -> tuple[int, dict[str, Any]]:
        return self._lookup_users(principal, query, "usernames", _USERNAME, "GET /2/users/by")

    def _timeline_subject(self, id: str) -> FakeUser | dict[str, Any]:
        self._check_id(id, "id")
        problem = self._user_error(id, "id")
        return problem if problem is not None else self.users[id]

    def _get_mentions(
        self, principal: _Principal, query: Mapping[str, str], body: Any, id: str
    ) -> tuple[int, dict[str, Any]]:
        endpoint = "GET /2/users/:id/mentions"
        subject = self._timeline_subject(id)
        if isinstance(subject, dict):
            return 200, {"errors": [subject]}
        mentions = self._newest_first(
            p
            for p in self.posts.values()
            if subject.id in p.mention_ids and self._visible(p, principal)
        )[: self.mentions_reach]
        page, meta = self._page(mentions, query, endpoint, subject.id, low=5, high=100)
        return 200, self._posts_payload(page, principal, query, endpoint, meta=meta)

    def _get_user_tweets(
        self, principal: _Principal, query: Mapping[str, str], body: Any, id: str
    ) -> tuple[int, dict[str, Any]]:
        endpoint = "GET /2/users/:id/tweets"
        subject = self._timeline_subject(id)
        if isinstance(subject, dict):
            return 200, {"errors": [subject]}
        if subject.protected and (principal.user is None or principal.user.id != subject.id):
            return 200, {
                "errors": [
                    _resource_error(
                        "user",
                        "id",
                        id,
                        not_authorized=True,
                        detail=f"Sorry, you are not authorized to see the user with id: [{id}].",
                    )
                ]
            }
        exclude = set(self._csv(query, "exclude"))
        if exclude - {"replies", "retweets"}:
            raise _invalid(
                f"The `exclude` query parameter value [{query['exclude']}] is not "
                "one of [replies,retweets]",
                {"exclude": [query["exclude"]]},
            )
        posts = self._newest_first(
            p
            for p in self.posts.values()
            if p.author_id == subject.id
            and not p.deleted
            and not ("replies" in exclude and p.replied_to_id)
        )[: self.timeline_reach]
        page, meta = self._page(posts, query, endpoint, subject.id, low=5, high=100)
        return 200, self._posts_payload(page, principal, query, endpoint, meta=meta)

    def _get_tweet(
        self, principal: _Principal, query: Mapping[str, str], body: Any, id: str
    ) -> tuple[int, dict[str, Any]]:
        self._check_id(id, "id")
        problem = self._post_error(id, "id", principal)
        posts = [] if problem else [self.posts[id]]
        return 200, self._posts_payload(
            posts,
            principal,
            query,
            "GET /2/tweets/:id",
            [problem] if problem else None,
            single=True,
        )

    def _get_tweets(
        self, principal: _Principal, query: Mapping[str, str], body: Any
    ) -> tuple[int, dict[str, Any]]:
        ids = self._list_param(query, "ids", _ID)
        posts, errors = [], []
        for post_id in ids:
            problem = self._post_error(post_id, "ids", principal)
            if problem is not None:
                errors.append(problem)
            else:
                posts.append(self.posts[post_id])
        return 200, self._posts_payload(posts, principal, query, "GET /2/tweets", errors)

    def _search_recent(
        self, principal: _Principal, query: Mapping[str, str], body: Any
    ) -> tuple[int, dict[str, Any]]:
        endpoint = "GET /2/tweets/search/recent"
        text = query.get("query", "")
        if not text.strip():
            raise _invalid("The `query` query parameter can not be empty", {"query": [text]})
        predicate = self._compile_query(text)
        oldest = self.now() - self.search_window
        posts = self._newest_first(
            p
            for p in self.posts.values()
            if self._visible(p, principal) and p.created_at >= oldest and predicate(p)
        )
        page, meta = self._page(
            posts, query, endpoint, text, low=10, high=100, cursor_param="next_token"
        )
        return 200, self._posts_payload(page, principal, query, endpoint, meta=meta)

    def _compile_query(self, text: str) -> Callable[[FakePost], bool]:
        if re.search(r"(^|\s)OR(\s|$)|[()]", text):
            raise _invalid(
                "FakeX supports only AND of simple terms (no OR, no grouping)", {"query": [text]}
            )
        checks: list[Callable[[FakePost], bool]] = []
        for negate, token in re.findall(r'(-?)("[^"]*"|\S+)', text):
            check = self._term(token)
            checks.append((lambda c: lambda p: not c(p))(check) if negate else check)
        return lambda post: all(check(post) for check in checks)

    def _term(self, token: str) -> Callable[[FakePost], bool]:
        def username_of(user_id: str | None) -> str:
            return self.users[user_id].username.lower() if user_id in self.users else ""

        operator, _, value = token.partition(":")
        value_l = value.lower().lstrip("@")
        if token.startswith('"'):
            phrase = token.strip('"').lower()
            return lambda p: phrase in p.text.lower()
        if token.startswith("@"):
            name = token[1:].lower()
            return lambda p: any(m["username"].lower() == name for m in p.mentions)
        if value and operator == "from":
            return lambda p: username_of(p.author_id) == value_l or p.author_id == value
        if value and operator == "to":
            return lambda p: username_of(p.in_reply_to_user_id) == value_l
        if value and operator == "conversation_id":
            return lambda p: p.conversation_id == value
        if value and operator == "is":
            flags: dict[str, Callable[[FakePost], bool]] = {
                "reply": lambda p: p.replied_to_id is not None,
                "quote": lambda p: p.quoted_id is not None,
                "retweet": lambda p: False,
            }
            if value_l not in flags:
                raise _invalid(f"FakeX does not support is:{value}", {"query": [token]})
            return flags[value_l]
        if value and operator == "has" and value_l == "mentions":
            return lambda p: bool(p.mentions)
        if value and operator == "lang":
            return lambda p: value_l == "en"
        if value and re.fullmatch(r"[a-z_]+", operator):
            raise _invalid(f"FakeX does not support the operator {operator}:", {"query": [token]})
        word = re.compile(rf"(?<!\w){re.escape(token)}(?!\w)", re.IGNORECASE)
        return lambda p: bool(word.search(p.text))

    # ----------------------------------------------------------------- writes

    def _create_tweet(
        self, principal: _Principal, query: Mapping[str, str], body: Any
    ) -> tuple[int, dict[str, Any]]:
        author = principal.user
        assert author is not None
        if not isinstance(body, dict):
            raise _invalid("Request body must be a JSON object", {"body": [str(body)]})
        unknown = set(body) - {
            "text",
            "reply",
            "quote_tweet_id",
            "reply_settings",
            "for_super_followers_only",
            "direct_message_deep_link",
            "geo",
            "media",
            "poll",
            "nullcast",
            "community_id",
        }
        if unknown:
            raise _invalid(
                f"$.{sorted(unknown)[0]}: is not defined in the schema",
                {k: [str(body[k])] for k in unknown},
            )
        if "poll" in body:
            raise _invalid("FakeX does not model polls", {"poll": ["unsupported"]})
        media = self._attached_media(body.get("media"), author)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _invalid(
                "Requires one of the following: text, media, poll, quote_tweet_id "
                "(text must be a non-empty string)",
                {"text": [str(text)]},
            )
        if weighted_length(text) > MAX_WEIGHTED_LENGTH:
            raise _ApiError(self.too_long_status, _problem(self.too_long_status, TOO_LONG))

        reply_to = None
        reply = body.get("reply")
        if reply is not None:
            target_id = (
                str(reply.get("in_reply_to_tweet_id", "")) if isinstance(reply, dict) else ""
            )
            if not _ID.fullmatch(target_id):
                raise _invalid(
                    "$.reply.in_reply_to_tweet_id: does not match ^[0-9]{1,19}$",
                    {"reply.in_reply_to_tweet_id": [target_id]},
                )
            reply_to = self.posts.get(target_id)
            if reply_to is None or not self._visible(reply_to, principal):
                raise _ApiError(403, _problem(403, REPLY_TARGET_GONE))
            if self.enforce_reply_rules and not self._engaged(reply_to, author):
                raise _ApiError(403, _problem(403, REPLY_NOT_ALLOWED))
        quote_of = None
        if body.get("quote_tweet_id") is not None:
            quote_id = str(body["quote_tweet_id"])
            quote_of = self.posts.get(quote_id)
            if quote_of is None or not self._visible(quote_of, principal):
                raise _ApiError(
                    403,
                    _problem(
                        403, "You cannot quote a Tweet that is deleted or not visible to you."
                    ),
                )
            if self.enforce_reply_rules and not self._engaged(quote_of, author):
                raise _ApiError(403, _problem(403, QUOTE_NOT_ALLOWED))

        since = self.now() - self.duplicate_window
        if any(
            p.author_id == author.id
            and not p.deleted
            and p.created_at >= since
            and p.text.strip() == text.strip()
            for p in self.posts.values()
        ):
            raise _ApiError(403, _problem(403, DUPLICATE_CONTENT))

        created = self._store_post(author, text, reply_to, quote_of)
        created.media_ids = [m.id for m in media]
        for item in media:
            item.used_by.append(created.id)
        summoned = (
            reply_to is not None
            and reply_to.author_id != author.id
            and self._engaged(reply_to, author)
        )
        self.ledger.charge(
            "reply_create" if summoned else "post_create", created.id, self.now(), "POST /2/tweets"
        )
        return 201, {
            "data": {"id": created.id, "text": created.text, "edit_history_tweet_ids": [created.id]}
        }

    def _attached_media(self, media: Any, author: FakeUser) -> list[FakeMedia]:
        """The media a create attaches: ids uploaded by the author, not expired, at most 4."""
        if media is None:
            return []
        ids = media.get("media_ids") if isinstance(media, dict) else None
        if not isinstance(ids, list) or not 1 <= len(ids) <= 4:
            raise _invalid("$.media.media_ids: must be an array of 1 to 4 ids",
                           {"media.media_ids": [str(ids)]})
        found = []
        for media_id in ids:
            item = self.media.get(str(media_id))
            if (item is None or item.owner_id != author.id
                    or self.now() >= item.created_at
                    + timedelta(seconds=item.expires_after_s)):
                raise _ApiError(400, _problem(400, INVALID_MEDIA_IDS, title="Invalid Request",
                                              type_=INVALID_REQUEST_TYPE))
            found.append(item)
        return found

    def _upload_media(
        self, principal: _Principal, query: Mapping[str, str], body: Any
    ) -> tuple[int, dict[str, Any]]:
        """One-shot upload (multipart: media, media_category, media_type), images only."""
        owner = principal.user
        assert owner is not None
        if not isinstance(body, dict) or not isinstance(body.get("media"), bytes):
            raise _invalid("$.media: is missing but it is required", {"media": [""]})
        data: bytes = body["media"]
        category = str(body.get("media_category", "tweet_image"))
        if category not in MEDIA_CATEGORIES:
            raise _invalid(f"$.media_category: does not have a value in the enumeration "
                           f"{sorted(MEDIA_CATEGORIES)}", {"media_category": [category]})
        if len(data) > self.image_max_bytes:
            raise _ApiError(413, _problem(
                413, f"File size exceeds {self.image_max_bytes} bytes.",
                title="Payload Too Large"))
        sniffed = next((t for magic, t in _IMAGE_MAGIC.items() if data.startswith(magic)), None)
        declared = str(body.get("media_type", sniffed or ""))
        if sniffed is None or declared != sniffed:
            raise _ApiError(400, _problem(
                400, "media type unrecognized or not matching the file's contents.",
                title="Invalid Request", type_=INVALID_REQUEST_TYPE))
        media_id = self._next_id()
        item = FakeMedia(media_id, f"3_{media_id}", owner.id, data, sniffed, category,
                         self.now(), self.media_expires_after_s)
        self.media[media_id] = item
        self.ledger.charge("media_upload", media_id, self.now(), "POST /2/media/upload")
        return 200, {"data": {
            "id": media_id, "media_key": item.media_key, "size": len(data),
            "expires_after_secs": item.expires_after_s,
            "image": {"image_type": sniffed, "w": 0, "h": 0}}}

    def _engaged(self, target: FakePost, author: FakeUser) -> bool:
        """Did ``target``'s author mention or quote ``author`` (or is it their own post)?"""
        if target.author_id == author.id or author.id in target.mention_ids:
            return True
        quoted = self.posts.get(target.quoted_id or "")
        return quoted is not None and quoted.author_id == author.id

    def _delete_tweet(
        self, principal: _Principal, query: Mapping[str, str], body: Any, id: str
    ) -> tuple[int, dict[str, Any]]:
        self._check_id(id, "id")
        post = self.posts.get(id)
        if post is None or post.deleted:
            raise _ApiError(
                404,
                {
                    "errors": [_resource_error("tweet", "id", id)],
                    "title": "Not Found Error",
                    "detail": "Not Found",
                    "type": NOT_FOUND_TYPE,
                },
            )
        assert principal.user is not None
        if post.author_id != principal.user.id:
            raise _ApiError(403, _problem(403, "You are not allowed to delete this Tweet."))
        self.delete(post)
        return 200, {"data": {"deleted": True}}
