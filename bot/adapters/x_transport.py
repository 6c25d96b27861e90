"""The one place where the X API base URL is applied to tweepy's ``AsyncClient``.

Why this exists: tweepy 4.17 hard-codes the host. ``AsyncBaseClient.request`` builds
``"https://api.twitter.com" + route`` and then calls ``self.session.request(method, url,
params=..., json=..., headers=...)`` as an async context manager (falling back to a throwaway
``aiohttp.ClientSession`` per call when ``session`` is ``None``). The documented, public seam
is that ``session`` attribute, so :func:`make_async_client` assigns an :class:`ApiBaseSession`:
a small object with the one ``request`` method tweepy uses, which swaps the scheme, host and
port (plus an optional path prefix) for ``api_base`` and delegates to a real, long-lived
``aiohttp.ClientSession`` with a total timeout. We wrap instead of subclassing because aiohttp
warns (DeprecationWarning) on ``ClientSession`` subclasses and our tests turn warnings into
errors; we do not patch tweepy's module source either.

What the rewrite preserves:

* With OAuth 1.0a user context, tweepy signs the *api.twitter.com* URL and passes a pre-encoded
  ``yarl.URL`` (``encoded=True``; query already percent-encoded, colons as ``%3A``). Only the
  origin changes here, the raw path and query are kept byte for byte. A server at another
  origin that verified signatures would therefore reject them: a non-default ``api_base`` is
  meant for a local fake or a forwarding proxy, never for a different real host.
* tweepy raises ``HTTPException`` subclasses whose ``response`` is the real
  ``aiohttp.ClientResponse``; its ``headers`` (``x-rate-limit-*``, ``x-user-limit-24hour-*``)
  stay readable after the error, see :func:`rate_limit_from_headers`.

URLs for any other origin than ``https://api.twitter.com`` / ``https://api.x.com`` are refused
with ``ValueError``, so a test can never leak a request to the internet through this session.
The ``aiohttp.ClientSession`` is created lazily on the first request (inside the running event
loop) and must be released with ``await client.session.close()`` (or :func:`close_client`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import tweepy
import tweepy.asynchronous
from yarl import URL

DEFAULT_API_BASE = "https://api.twitter.com"
DEFAULT_TIMEOUT_SECONDS = 20.0
_TWEEPY_ORIGINS = frozenset({URL("https://api.twitter.com"), URL("https://api.x.com")})


class ApiBaseSession:
    """Stand-in for ``AsyncClient.session``: rewrites the origin, delegates to aiohttp."""

    def __init__(
        self, api_base: str = DEFAULT_API_BASE, *, timeout: float = DEFAULT_TIMEOUT_SECONDS
    ) -> None:
        base = URL(api_base)
        if base.scheme not in {"http", "https"} or not base.host:
            raise ValueError(f"api_base must be an absolute http(s) URL, got {api_base!r}")
        if base.query_string or base.fragment:
            raise ValueError(f"api_base must not carry a query or fragment: {api_base!r}")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._origin = str(base.origin())
        self._prefix = base.raw_path.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    @property
    def api_base(self) -> str:
        return self._origin + self._prefix

    @property
    def closed(self) -> bool:
        return self._closed

    def rewrite(self, url: str | URL) -> URL:
        """Map a tweepy URL (``https://api.twitter.com/2/...``) onto ``api_base``."""
        parsed = url if isinstance(url, URL) else URL(url)
        if not parsed.absolute or parsed.origin() not in _TWEEPY_ORIGINS:
            raise ValueError(f"refusing to send a request to {parsed.origin()}: not the X API")
        return URL(self._origin + self._prefix + parsed.raw_path_qs, encoded=True)

    def request(
        self, method: str, url: str | URL, **kwargs: Any
    ) -> AbstractAsyncContextManager[aiohttp.ClientResponse]:
        """Same call shape as ``aiohttp.ClientSession.request`` (what tweepy calls)."""
        if self._closed:
            raise RuntimeError("ApiBaseSession is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session.request(method, self.rewrite(url), **kwargs)

    async def close(self) -> None:
        """Close the underlying aiohttp session. Safe to call twice."""
        self._closed = True
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


def make_async_client(
    api_base: str = DEFAULT_API_BASE,
    *,
    bearer_token: str | None,
    consumer_key: str | None,
    consumer_secret: str | None,
    access_token: str | None,
    access_token_secret: str | None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> tweepy.asynchronous.AsyncClient:
    """Build tweepy's ``AsyncClient`` whose every request goes to ``api_base``.

    ``wait_on_rate_limit`` is off (tweepy would sleep on ``x-rate-limit-reset`` only, retry
    forever on a usage cap and block the loop's other work); the caller handles 429s.
    ``client.session`` is an :class:`ApiBaseSession`; close it with :func:`close_client`.
    """
    client = tweepy.asynchronous.AsyncClient(
        bearer_token=bearer_token,
        consumer_key=consumer_key,
        consumer_secret=consumer_secret,
        access_token=access_token,
        access_token_secret=access_token_secret,
        return_type=tweepy.Response,
        wait_on_rate_limit=False,
    )
    client.session = ApiBaseSession(api_base, timeout=timeout)
    return client


async def close_client(client: tweepy.asynchronous.AsyncClient) -> None:
    """Release the client's HTTP session (no-op for a session we did not install)."""
    session = getattr(client, "session", None)
    if isinstance(session, ApiBaseSession):
        await session.close()


@dataclass(frozen=True, slots=True)
class RateLimit:
    """One window as X reports it in response headers."""

    limit: int
    remaining: int
    reset_at: datetime  # aware, UTC

    def seconds_until_reset(self, now: datetime) -> float:
        return max(0.0, (self.reset_at - now).total_seconds())


def _window(headers: Mapping[str, str], prefix: str) -> RateLimit | None:
    try:
        limit = int(headers[f"{prefix}-limit"])
        remaining = int(headers[f"{prefix}-remaining"])
        reset = float(headers[f"{prefix}-reset"])
    except (KeyError, ValueError):
        return None
    if not math.isfinite(reset):
        return None
    return RateLimit(limit, remaining, datetime.fromtimestamp(reset, tz=UTC))


def rate_limit_from_headers(headers: Mapping[str, str]) -> RateLimit | None:
    """Parse ``x-rate-limit-{limit,remaining,reset}`` (the 15-minute endpoint window).

    Works on ``response.headers`` of a success and on ``exc.response.headers`` of a
    ``tweepy.TooManyRequests``; aiohttp's headers are case-insensitive.
    """
    return _window(headers, "x-rate-limit")


def daily_limit_from_headers(headers: Mapping[str, str]) -> RateLimit | None:
    """Parse ``x-user-limit-24hour-*`` (posting's 24-hour window), if X sent it."""
    return _window(headers, "x-user-limit-24hour")


async def problem_body(exc: tweepy.HTTPException) -> dict[str, Any]:
    """The JSON body of a failed response, or ``{}`` if it was not a JSON object.

    tweepy keeps only the ``errors`` array (``exc.api_errors``) and the message texts; a
    top-level problem's ``type`` and ``title`` (how X tells a usage cap from a rate limit)
    are dropped. The body is still cached on ``exc.response`` (tweepy read it), so this
    re-parses it without another network round trip.
    """
    response = exc.response
    try:
        body = await response.json(content_type=None)
    except (aiohttp.ClientError, ValueError, AttributeError, TypeError):
        return {}
    return body if isinstance(body, dict) else {}


async def problem_types(exc: tweepy.HTTPException) -> set[str]:
    """The problem ``type`` URIs of a tweepy error: the top-level body's and ``errors``'.

    X sends ``https://api.twitter.com/2/problems/usage-capped`` (or the ``api.x.com``
    spelling) for a usage cap and ``about:blank`` for plain 403/429s, so compare the path
    with ``endswith("/2/problems/usage-capped")``.
    """
    found = {str(e["type"]) for e in exc.api_errors if isinstance(e, dict) and "type" in e}
    body = await problem_body(exc)
    if "type" in body:
        found.add(str(body["type"]))
    return found
