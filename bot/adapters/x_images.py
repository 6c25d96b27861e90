"""The score card image on a reply to a mention, where the budget allows ([twitter]
card_images, off by default).

For a reply that has an image (a /klout card, a leaderboard page: CardImages.has_image)
the card is drawn in the render worker pool (bot/cards/service.py, never on the event
loop), uploaded (POST /2/media/upload, billed and held to the budgets like any other
call) and its media id attached to the reply. Whatever stands in the way (images off,
the budget that covers the reply but not also the upload, a render that fails, X
refusing or rate-limiting the upload) leaves the reply as text, never unsent, with a
log line naming the cause.

Exactly once: the upload happens before the mention is marked 'posting', and the
media id is not stored. A crash after the upload leaves the mention 'claimed', so the
next start draws and uploads again (one more upload billed, an unused media item left
to expire on X's side) and posts once; a crash after 'posting' is settled from the
bot's own timeline as for any reply (bot/adapters/twitter.py).
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.adapters.x_api import MediaFailed, XApi
from bot.adapters.x_spend import BudgetExceeded
from bot.cards.service import CardImages
from bot.clock import Clock
from bot.render import Renderer
from commands.types import Reply

log = logging.getLogger(__name__)


class ReplyImages:
    def __init__(self, images: CardImages, renderer: Renderer, api: XApi, clock: Clock, *,
                 enabled: bool) -> None:
        self.images = images
        self.renderer = renderer
        self.api = api
        self.clock = clock
        self.enabled = enabled
        # X's rate-limit reset after a 429 on the upload: text only until then.
        self.limited_until: datetime | None = None
        self.attached = self.text_only = 0

    def wanted(self, reply: Reply | None) -> bool:
        return self.enabled and reply is not None and self.images.has_image(reply)

    async def media_for(self, post_id: str, reply: Reply | None) -> list[str]:
        """The media ids to attach to the reply to `post_id`: one, or none (text only)."""
        if reply is None or not self.wanted(reply):
            return []
        if self.limited_until is not None:
            if self.clock.now() < self.limited_until:
                return self._text_only(post_id, "uploads rate limited until "
                                       f"{self.limited_until.isoformat()}")
            self.limited_until = None
        try:
            png, _ = await self.images.for_reply(self.renderer, reply, None)
        except Exception as exc:  # any render failure: the text reply stands
            log.warning("X reply to %s goes as text: its card image failed to render "
                        "(%s: %s)", post_id, type(exc).__name__, exc, exc_info=True)
            self.text_only += 1
            return []
        try:
            media_id = await self.api.upload_image(png)
        except BudgetExceeded as exc:
            return self._text_only(post_id, f"the budget covers the reply but not its "
                                   f"image ({exc.reason})")
        except MediaFailed as exc:
            if exc.until is not None:
                self.limited_until = exc.until
            return self._text_only(post_id, f"the image upload failed: {exc}")
        self.attached += 1
        return [media_id]

    def _text_only(self, post_id: str, cause: str) -> list[str]:
        log.warning("X reply to %s goes as text: %s", post_id, cause)
        self.text_only += 1
        return []
