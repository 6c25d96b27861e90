"""Reply text for X: rendered from templates, within 280 weighted characters, never a repeat.

X refuses (403) a post that duplicates one of the bot's recent posts, and apps that
trip that check get suspended. Each reply is rendered in a variant chosen
deterministically from the mention id (templates/twitter/*.j2 read `variant`); the
hashes of everything posted in the last day are kept (x_sent), and a variant whose
text was already posted is passed over for the next one. Only if every variant was
used does the reply carry a time stamp, which makes it unique.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

from bot.adapters.x_text import fit_to_limit
from bot.clock import Clock
from bot.render import Renderer
from bot.storage.twitter import TwitterRepository
from commands.types import Reply

log = logging.getLogger(__name__)
PLATFORM = "twitter"
FRAME = "x_reply"
VARIANTS_TRIED = 24
# X's duplicate window is not published; a little over a day is the safe side.
DUPLICATE_WINDOW = timedelta(hours=26)


def text_hash(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).casefold().encode("utf-8")).hexdigest()


class ReplyComposer:
    def __init__(self, renderer: Renderer, repo: TwitterRepository, clock: Clock) -> None:
        self.renderer = renderer
        self.repo = repo
        self.clock = clock

    def render(self, reply: Reply, variant: int, asker: str | None, stamp: str = "") -> str:
        # Jinja reserves `self` (the template itself), so templates read asking_self.
        asking_self = reply.context.get("asking_self", reply.context.get("self", False))
        context: dict[str, Any] = {**reply.context, "variant": variant,
                                   "asking_self": bool(asking_self)}
        try:
            body = self.renderer.render_name(reply.template, PLATFORM, context).text
        except Exception:
            log.exception("rendering %s for X failed", reply.template)
            body = self.renderer.render_name("errors/internal", PLATFORM, context).text
        framed = self.renderer.render_name(
            FRAME, PLATFORM, {"body": body, "asker": asker or "", "variant": variant,
                              "stamp": stamp}).text
        return fit_to_limit(framed)

    async def compose(self, reply: Reply, *, key: str, asker: str | None) -> str:
        """The first variant, starting from one derived from `key`, not posted lately."""
        now = self.clock.now()
        since = int((now - DUPLICATE_WINDOW).timestamp())
        recent = await self.repo.recent_hashes(since, other_than=key)
        start = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
        for step in range(VARIANTS_TRIED):
            text = self.render(reply, start + step, asker)
            if text_hash(text) not in recent:
                return text
        log.info("every wording of %s was posted lately; stamping the time", reply.template)
        return self.render(reply, start, asker, stamp=now.strftime("%H:%M:%S UTC"))

    async def remember(self, text: str, key: str) -> None:
        await self.repo.add_sent(text_hash(text), key, int(self.clock.now().timestamp()))

