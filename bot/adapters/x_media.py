"""POST /2/media/upload: one image, sent as X's one-shot multipart upload.

tweepy 4.17's AsyncClient has no media upload (only the sync v1.1 API does, against
upload.twitter.com and through requests), and its ``request`` sends JSON bodies only.
So this signs the request the way ``AsyncBaseClient.request`` does (OAuth 1.0a user
context, oauthlib; a multipart body is not part of the signature) and sends it through
the client's own session, so x_transport's origin rewrite, timeout and loopback guard
apply as for every other call. Failures raise tweepy's own exceptions, as tweepy would
(plus a bare ``HTTPException`` for 413 and other statuses tweepy has no class for), so
x_api classifies them like any other call's.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import tweepy
import tweepy.asynchronous
from oauthlib.oauth1 import Client as OAuthClient

ROUTE = "/2/media/upload"
# The origin tweepy uses; x_transport.ApiBaseSession maps it onto [twitter] api_base.
ORIGIN = "https://api.twitter.com"
_ERRORS: dict[int, type[tweepy.HTTPException]] = {
    400: tweepy.BadRequest, 401: tweepy.Unauthorized, 403: tweepy.Forbidden,
    404: tweepy.NotFound}


async def upload_image(client: tweepy.asynchronous.AsyncClient, data: bytes, *,
                       media_type: str = "image/png", category: str = "tweet_image"
                       ) -> dict[str, Any]:
    """Upload `data`; returns X's ``data`` object (``id``, ``media_key``, ...)."""
    url = ORIGIN + ROUTE
    headers = {"User-Agent": client.user_agent}
    signer = OAuthClient(client.consumer_key, client.consumer_secret, client.access_token,
                         client.access_token_secret)
    url, headers, _ = signer.sign(url, "POST", headers=headers)
    form = aiohttp.FormData()
    form.add_field("media", data, filename="card.png", content_type=media_type)
    form.add_field("media_category", category)
    form.add_field("media_type", media_type)
    session = client.session
    own_session = session is None
    if own_session:
        session = aiohttp.ClientSession()
    try:
        async with session.request("POST", url, data=form, headers=headers) as response:
            await response.read()
            body: Any = None
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = None
    finally:
        if own_session:
            await session.close()
    payload = body if isinstance(body, dict) else {}
    status = response.status
    if 200 <= status < 300:
        found = payload.get("data")
        if not isinstance(found, dict) or not found.get("id"):
            raise tweepy.HTTPException(response, response_json={
                "errors": [{"message": "media upload returned no media id"}]})
        return found
    if status == 429:
        reset = response.headers.get("x-rate-limit-reset")
        raise tweepy.TooManyRequests(response, response_json=payload,
                                     reset_time=int(reset) if reset and reset.isdigit()
                                     else None)
    if status >= 500:
        raise tweepy.TwitterServerError(response, response_json=payload)
    raise _ERRORS.get(status, tweepy.HTTPException)(response, response_json=payload)
