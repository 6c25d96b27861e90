"""Proof of owning an X account, through the X API (the XVerifier port of /link twitter).

A verification costs one user read (the handle, with its bio) and, only when the code
is not in the bio, one page of the account's latest posts (at least 5: X's minimum);
posts that mention the bot are owned reads. Only a post that mentions the bot counts,
as the link instructions say. Nothing is cached or stored: the bio and the posts are
read, compared and dropped, and the code never reaches a log (it is compared here,
never sent to X).

Any failure to ask X (outage, rate limit, budget pause, refused credentials) raises
VerifierUnavailable, which the privacy service turns into "try again later" rather
than a wrong verdict.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import tweepy

from bot.adapters.x_api import XApi, XUnavailable, mention_ids
from bot.adapters.x_spend import BudgetExceeded
from bot.services.linking import VerifierUnavailable, XIdentity

log = logging.getLogger(__name__)
POSTS_CHECKED = 5
_CANNOT_ASK = (XUnavailable, BudgetExceeded, tweepy.HTTPException, aiohttp.ClientError,
               TimeoutError)


class XApiVerifier:
    def __init__(self, api: XApi, ready: Callable[[], Awaitable[None]]) -> None:
        self.api = api
        # The adapter's start(): learns the bot's own id, which says which posts
        # mention the bot (and are billed as owned reads).
        self._ready = ready
        self._looked_up: dict[str, dict[str, Any]] = {}

    async def lookup(self, handle: str) -> XIdentity | None:
        try:
            await self._ready()
            page = await self.api.users(usernames=[handle], with_bio=True)
        except _CANNOT_ASK as exc:
            raise VerifierUnavailable(f"X user lookup failed: {type(exc).__name__}") from exc
        for user in page.data:
            if str(user.get("username", "")).lower() == handle.lower():
                # Kept for the bio check that follows in the same verification.
                self._looked_up = {handle.lower(): user}
                return XIdentity(str(user["id"]), str(user["username"]))
        return None  # X answered: no such account, or suspended

    async def bio_or_recent_post_contains(self, handle: str, code: str) -> bool:
        user = self._looked_up.pop(handle.lower(), None)
        if user is None:
            identity = await self.lookup(handle)
            if identity is None:
                return False
            user = self._looked_up.pop(handle.lower())
        needle = code.lower()
        if needle in str(user.get("description", "")).lower():
            return True
        if user.get("protected"):
            return False  # its posts are not visible to the bot
        try:
            # Replies count: answering the bot's own reply with the code is natural.
            page = await self.api.recent_posts(str(user["id"]), POSTS_CHECKED,
                                               with_replies=True)
        except _CANNOT_ASK as exc:
            raise VerifierUnavailable(f"X post read failed: {type(exc).__name__}") from exc
        return any(self.api.bot_id in mention_ids(post)
                   and needle in str(post.get("text", "")).lower() for post in page.data)
