"""Replies as Discord sees them: embeds from rendered templates, pager buttons, and
sending that survives what Discord answers (403, 404 unknown interaction, 429).

Leaderboard buttons are a DynamicItem: the custom_id carries guild, page and period,
so a click works on any message, days and restarts later, by anyone.
"""

from __future__ import annotations

import io
import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from bot.render import Rendered
from commands.types import Pager, Reply

if TYPE_CHECKING:
    from bot.adapters.discord import DiscordAdapter

log = logging.getLogger(__name__)

NO_PINGS = discord.AllowedMentions.none()
COLOURS = {"info": 0x5865F2, "error": 0xED4245, "refusal": 0xFEE75C}
PAGER_ID = re.compile(
    r"klout:lb:(?P<guild>\d{1,20}):(?P<page>\d{1,6}):(?P<period>week|alltime):(?P<side>[pn])")


def embed_for(rendered: Rendered, tone: str = "info") -> discord.Embed:
    """Title/body/footer blocks become an embed; a template without blocks, its text."""
    colour = COLOURS.get(tone, COLOURS["info"])
    if rendered.title is None and rendered.body is None:
        return discord.Embed(description=rendered.text[:4096], colour=colour)
    embed = discord.Embed(title=(rendered.title or "")[:256] or None,
                          description=(rendered.body or "")[:4096] or None, colour=colour)
    if rendered.footer:
        embed.set_footer(text=rendered.footer[:2048])
    return embed


def message_kwargs(reply: Reply, rendered: Rendered, guild_id: int | None) -> dict[str, Any]:
    """What to pass to send/edit: refusals read best as one plain line, the rest as embeds."""
    kwargs: dict[str, Any] = {"allowed_mentions": NO_PINGS}
    if reply.tone == "info":
        kwargs["embed"] = embed_for(rendered, reply.tone)
    else:
        kwargs["content"] = rendered.text[:2000]
    view = pager_view(reply.pager, guild_id)
    if view is not None:
        kwargs["view"] = view
    if reply.attachments:
        kwargs["files"] = files_of(reply)
    return kwargs


def files_of(reply: Reply) -> list[discord.File]:
    """Fresh File objects each time: discord.py closes a File once it has been sent."""
    return [discord.File(io.BytesIO(a.data), filename=a.filename) for a in reply.attachments]


def pager_view(pager: Pager | None, guild_id: int | None) -> discord.ui.View | None:
    if pager is None or guild_id is None or pager.pages <= 1:
        return None
    period = pager.args[0] if pager.args and pager.args[0] in ("week", "alltime") else "week"
    view = discord.ui.View(timeout=None)
    view.add_item(PageButton(guild_id, max(1, pager.page - 1), period, "p",
                             disabled=pager.page <= 1))
    view.add_item(PageButton(guild_id, min(pager.pages, pager.page + 1), period, "n",
                             disabled=pager.page >= pager.pages))
    return view


class PageButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
                 template=PAGER_ID):
    """◀ / ▶ on a leaderboard: shows page `page` of `period` for guild `guild`."""

    def __init__(self, guild_id: int, page: int, period: str, side: str, *,
                 disabled: bool = False) -> None:
        super().__init__(discord.ui.Button(
            label="◀" if side == "p" else "▶", style=discord.ButtonStyle.secondary,
            custom_id=f"klout:lb:{guild_id}:{page}:{period}:{side}", disabled=disabled))
        self.guild_id, self.page, self.period = guild_id, page, period

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any],
                             item: discord.ui.Item[Any], match: re.Match[str], /
                             ) -> PageButton:
        return cls(int(match["guild"]), int(match["page"]), match["period"], match["side"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        adapter: DiscordAdapter = interaction.client.adapter
        await adapter.commands.page_clicked(interaction, self.guild_id, self.page, self.period)


def describe_http_error(exc: discord.HTTPException) -> str:
    """One line naming what Discord refused and the likely cause, for operators."""
    hint = {
        50013: "the bot lacks a permission here (Send Messages, Embed Links or Manage Roles)",
        50001: "the bot cannot see this channel",
        10062: "the interaction expired (answered after 3 s) or was already answered",
        10003: "the channel no longer exists",
        10008: "the message no longer exists",
        40060: "the interaction was already acknowledged",
    }.get(exc.code, "")
    if exc.status == 429:
        hint = "rate limited even after discord.py's retries"
    text = f"HTTP {exc.status} code {exc.code}: {exc.text or type(exc).__name__}"
    return f"{text} ({hint})" if hint else text
