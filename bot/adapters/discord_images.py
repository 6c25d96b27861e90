"""Score-card and leaderboard images on Discord answers.

The text embed goes out first, as fast as ever (Discord's 3 s deadline, the /klout
p99); the image is drawn in a worker process and edited into the same message after,
so a slow render, a slow avatar or a failure never delays or loses the answer: at
worst the message stays text, and the cause is logged.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import discord

from bot.adapters.discord_reply import describe_http_error, message_kwargs
from bot.render import Rendered
from commands.types import Reply

if TYPE_CHECKING:
    from bot.app import KloutApp

log = logging.getLogger(__name__)
PLATFORM = "discord"
AVATAR_PX = 128


def avatar_path(user: discord.abc.User) -> str:
    """The avatar's path and query on the CDN, whatever base the operator set."""
    parts = urlsplit(user.display_avatar.with_static_format("png").with_size(AVATAR_PX).url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


class ImageAttacher:
    def __init__(self, app: KloutApp) -> None:
        self.app = app
        self.sent = self.failed = 0

    def wanted(self, guild_id: int | None, reply: Reply) -> bool:
        if guild_id is None or not self.app.images.has_image(reply):
            return False
        comm = self.app.store.communities.peek(PLATFORM, str(guild_id))
        stored = None if comm is None else self.app.store.guild_settings.peek(comm.id).cards
        return self.app.settings.cards_on(stored)

    async def png(self, reply: Reply, user: discord.abc.User | None) -> tuple[bytes, str]:
        images = self.app.images
        avatar = None
        if reply.template == "klout" and user is not None:
            avatar = await images.avatars.get(avatar_path(user))
        return await images.for_reply(self.app.renderer, reply, avatar)

    async def attach(self, interaction: discord.Interaction[Any], reply: Reply,
                     rendered: Rendered, user: discord.abc.User | None) -> None:
        """Edit the image into the answer already sent; on any failure leave the text."""
        await self._edit_in(interaction.edit_original_response, reply, rendered,
                            interaction.guild_id, user)

    async def attach_to_message(self, message: discord.Message, reply: Reply,
                                rendered: Rendered, user: discord.abc.User | None = None
                                ) -> None:
        """The same for a message the bot posted (a mention's answer, the weekly post)."""
        guild_id = message.guild.id if message.guild else None
        await self._edit_in(message.edit, reply, rendered, guild_id, user)

    async def _edit_in(self, edit: Callable[..., Awaitable[Any]], reply: Reply,
                       rendered: Rendered, guild_id: int | None,
                       user: discord.abc.User | None) -> None:
        try:
            data, filename = await self.png(reply, user)
        except Exception as exc:  # any render failure: the text answer stands
            self.failed += 1
            log.warning("no %s image in guild %s (%s: %s); the text answer stands",
                        reply.template, guild_id, type(exc).__name__, exc, exc_info=True)
            return
        kwargs = message_kwargs(reply, rendered, guild_id)
        embed: discord.Embed = kwargs["embed"]
        embed.set_image(url=f"attachment://{filename}")
        extra = {"view": kwargs["view"]} if "view" in kwargs else {}
        try:
            await edit(embed=embed,
                       attachments=[discord.File(io.BytesIO(data), filename=filename)], **extra)
        except discord.HTTPException as exc:
            self.failed += 1
            log.warning("could not add the %s image in guild %s: %s", reply.template,
                        guild_id, describe_http_error(exc))
            return
        self.sent += 1
