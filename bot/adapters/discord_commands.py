"""Slash commands, bot mentions and leaderboard buttons: Discord in, Request out.

Every handler builds a commands.types.Request and lets the router answer; this cog
only translates (options to args, members to Persons, Reply to embed) and sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.adapters.discord_images import ImageAttacher
from bot.adapters.discord_ingest import snowflake_seconds
from bot.adapters.discord_reply import NO_PINGS, describe_http_error, files_of, message_kwargs
from bot.adapters.text_edge import clean_optional, clean_text
from bot.render import Rendered
from commands.errors import UserError
from commands.parse import parse
from commands.types import Person, Reply, Request

if TYPE_CHECKING:
    from bot.adapters.discord import DiscordAdapter

log = logging.getLogger(__name__)
PLATFORM = "discord"
Period = Literal["week", "alltime"]
# Answers about one person's own data; when they must be deferred, only the asker sees
# the "thinking" placeholder and the answer.
PRIVATE_COMMANDS = frozenset({"privacy", "link", "unlink", "privacy-wipe-community",
                              "kloutadmin", "leaderboard-preview", "leaderboard-post"})
WEEKDAY_CHOICES = [app_commands.Choice(name=d, value=d[:3].lower()) for d in (
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")]


def person_of(user: discord.abc.User) -> Person:
    """Member.display_name is the server nickname, else the global name, else the username."""
    return Person(PLATFORM, str(user.id), clean_text(user.display_name),
                  handle=clean_text(user.name), is_bot=user.bot,
                  created_at=snowflake_seconds(user.id))


class KloutCommands(commands.Cog):
    admin = app_commands.Group(
        name="kloutadmin", description="Configure KloutBot for this server (Manage Server)",
        guild_only=True, default_permissions=discord.Permissions(manage_guild=True))

    def __init__(self, adapter: DiscordAdapter) -> None:
        self.adapter = adapter
        self.app = adapter.app
        self.defer_after_s = adapter.app.config.discord.defer_after_ms / 1000
        self.images = ImageAttacher(adapter.app)

    # -- user commands ------------------------------------------------------------
    @app_commands.command(name="klout", description="Your influence score, or someone else's")
    @app_commands.describe(user="Whose score (default: yours)")
    @app_commands.guild_only()
    async def klout(self, interaction: discord.Interaction[Any],
                    user: discord.User | None = None) -> None:
        await self.answer(interaction, "klout", targets=() if user is None else (user,))

    @app_commands.command(name="leaderboard", description="This server's most influential members")
    @app_commands.describe(page="Page number", period="This week (default) or all time")
    @app_commands.guild_only()
    async def leaderboard(self, interaction: discord.Interaction[Any],
                          page: app_commands.Range[int, 1, 100_000] = 1,
                          period: Period = "week") -> None:
        await self.answer(interaction, "leaderboard", (str(page), period))

    @app_commands.command(name="help", description="What KloutBot does and how scores work")
    async def help(self, interaction: discord.Interaction[Any]) -> None:
        await self.answer(interaction, "help")

    # -- your data -------------------------------------------------------------------
    privacy = app_commands.Group(
        name="privacy", description="Your data: what is stored, opt out or in, export, forget",
        guild_only=True)

    @privacy.command(name="info", description="What the bot stores about you, and why")
    async def privacy_info(self, interaction: discord.Interaction[Any]) -> None:
        await self.answer(interaction, "privacy", ("info",))

    @privacy.command(name="optout", description="Hide your score everywhere; stop recording you")
    async def privacy_optout(self, interaction: discord.Interaction[Any]) -> None:
        await self.answer(interaction, "privacy", ("optout",))

    @privacy.command(name="optin", description="Show your score again and count you again")
    async def privacy_optin(self, interaction: discord.Interaction[Any]) -> None:
        await self.answer(interaction, "privacy", ("optin",))

    @privacy.command(name="export", description="A JSON file of everything stored about you")
    async def privacy_export(self, interaction: discord.Interaction[Any]) -> None:
        await self.answer(interaction, "privacy", ("export",))

    @privacy.command(name="forget", description="Delete everything stored about you")
    @app_commands.describe(confirm="The code from the first /privacy forget, to confirm")
    async def privacy_forget(self, interaction: discord.Interaction[Any],
                             confirm: app_commands.Range[str, 1, 64] | None = None) -> None:
        await self.answer(interaction, "privacy",
                          ("forget",) if confirm is None else ("forget", "confirm", confirm))

    @app_commands.command(name="link", description="Link your X account to combine both scores")
    @app_commands.describe(network="The other network",
                           handle="Your handle there, or 'verify' once the code is in place")
    @app_commands.choices(network=[app_commands.Choice(name="X (Twitter)", value="twitter")])
    @app_commands.guild_only()
    async def link(self, interaction: discord.Interaction[Any],
                   network: app_commands.Choice[str],
                   handle: app_commands.Range[str, 1, 64]) -> None:
        await self.answer(interaction, "link", (network.value, *handle.split()[:2]))

    @app_commands.command(name="unlink", description="Undo /link")
    @app_commands.describe(network="The network to unlink")
    @app_commands.choices(network=[app_commands.Choice(name="X (Twitter)", value="twitter")])
    @app_commands.guild_only()
    async def unlink(self, interaction: discord.Interaction[Any],
                     network: app_commands.Choice[str]) -> None:
        await self.answer(interaction, "unlink", (network.value,))

    # -- admin commands -------------------------------------------------------------
    @admin.command(name="show", description="Show this server's settings")
    async def admin_show(self, interaction: discord.Interaction[Any]) -> None:
        await self.answer(interaction, "kloutadmin", ("show",))

    @admin.command(name="schedule", description="Post the weekly leaderboard in a channel")
    @app_commands.describe(channel="Where to post", weekday="Day of the week",
                           time="Local time, HH:MM (24 h)",
                           timezone="Time zone, e.g. UTC or Europe/Paris",
                           top="How many members to list")
    @app_commands.choices(weekday=WEEKDAY_CHOICES)
    async def admin_schedule(self, interaction: discord.Interaction[Any],
                             channel: discord.TextChannel, weekday: app_commands.Choice[str],
                             time: str, timezone: str = "UTC",
                             top: app_commands.Range[int, 1, 50] = 10) -> None:
        await self.answer(interaction, "kloutadmin", (
            "schedule", str(channel.id), weekday.value, time, timezone, str(top)))

    @admin.command(name="unschedule", description="Stop the weekly leaderboard")
    async def admin_unschedule(self, interaction: discord.Interaction[Any]) -> None:
        await self.answer(interaction, "kloutadmin", ("unschedule",))

    @admin.command(name="exclude-channel", description="Activity in this channel stops counting")
    async def exclude_channel(self, interaction: discord.Interaction[Any],
                              channel: discord.abc.GuildChannel) -> None:
        await self.answer(interaction, "kloutadmin", ("exclude", "channel", str(channel.id)))

    @admin.command(name="include-channel", description="Activity in this channel counts again")
    async def include_channel(self, interaction: discord.Interaction[Any],
                              channel: discord.abc.GuildChannel) -> None:
        await self.answer(interaction, "kloutadmin", ("include", "channel", str(channel.id)))

    @admin.command(name="exclude-role", description="Members with this role don't count")
    async def exclude_role(self, interaction: discord.Interaction[Any],
                           role: discord.Role) -> None:
        await self.answer(interaction, "kloutadmin", ("exclude", "role", str(role.id)))

    @admin.command(name="include-role", description="Members with this role count again")
    async def include_role(self, interaction: discord.Interaction[Any],
                           role: discord.Role) -> None:
        await self.answer(interaction, "kloutadmin", ("include", "role", str(role.id)))

    @admin.command(name="exclude-user", description="This member or bot doesn't count")
    async def exclude_user(self, interaction: discord.Interaction[Any],
                           user: discord.User) -> None:
        await self.answer(interaction, "kloutadmin", ("exclude", "user", str(user.id)))

    @admin.command(name="include-user", description="This member counts again")
    async def include_user(self, interaction: discord.Interaction[Any],
                           user: discord.User) -> None:
        await self.answer(interaction, "kloutadmin", ("include", "user", str(user.id)))

    @admin.command(name="vouch", description="Vouch for a member: a trust seed of the scores")
    async def vouch(self, interaction: discord.Interaction[Any], user: discord.User) -> None:
        await self.answer(interaction, "kloutadmin", ("vouch", str(user.id)))

    @admin.command(name="unvouch", description="Take back a vouch")
    async def unvouch(self, interaction: discord.Interaction[Any], user: discord.User) -> None:
        await self.answer(interaction, "kloutadmin", ("unvouch", str(user.id)))

    @admin.command(name="tier-role", description="Give a role to members of a tier (no role: stop)")
    @app_commands.describe(tier="Tier name, e.g. guru", role="Role to give; leave out to stop")
    async def tier_role(self, interaction: discord.Interaction[Any], tier: str,
                        role: discord.Role | None = None) -> None:
        await self.answer(interaction, "kloutadmin", (
            "tier-role", tier, "none" if role is None else str(role.id)))

    @tier_role.autocomplete("tier")
    async def _tier_names(self, interaction: discord.Interaction[Any], current: str
                          ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=t, value=t) for t in self.app.settings.tiers
                if current.lower() in t][:25]

    @admin.command(name="cards", description="Score cards and leaderboards as images, or text")
    @app_commands.describe(state="on: answers carry an image; off: text only")
    async def admin_cards(self, interaction: discord.Interaction[Any],
                          state: Literal["on", "off"]) -> None:
        await self.answer(interaction, "kloutadmin", ("cards", state))

    @admin.command(name="web", description="This server's leaderboard on a public web page")
    @app_commands.describe(state="on: a public page lists the board; off: no page")
    async def admin_web(self, interaction: discord.Interaction[Any],
                        state: Literal["on", "off"]) -> None:
        await self.answer(interaction, "kloutadmin", ("web", state))

    @admin.command(name="wipe", description="Delete all data stored about this server")
    @app_commands.describe(confirm="The code from the first /kloutadmin wipe, to confirm")
    async def admin_wipe(self, interaction: discord.Interaction[Any],
                         confirm: app_commands.Range[str, 1, 64] | None = None) -> None:
        await self.answer(interaction, "privacy-wipe-community",
                          () if confirm is None else ("confirm", confirm))

    admin_board = app_commands.Group(name="leaderboard", parent=admin,
                                     description="The weekly leaderboard post")

    @admin_board.command(name="preview", description="Show the next weekly post, unposted")
    async def admin_board_preview(self, interaction: discord.Interaction[Any]) -> None:
        await self.answer(interaction, "leaderboard-preview")

    @admin_board.command(name="post-now", description="Post the leaderboard now")
    async def admin_board_post(self, interaction: discord.Interaction[Any]) -> None:
        await self.answer(interaction, "leaderboard-post")

    @admin.command(name="backfill", description="Read recent history so scores mean "
                                                "something now")
    async def admin_backfill(self, interaction: discord.Interaction[Any]) -> None:
        if interaction.guild_id is None:
            return
        if not self.is_admin(interaction):
            await self.respond(interaction, self.refusal("not_admin", command="kloutadmin"))
            return
        await self.adapter.backfill.start_from_interaction(interaction)

    # -- mentions -----------------------------------------------------------------
    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.adapter.client.user
        if message.guild is None or message.author.bot or me is None:
            return
        if not any(m.id == me.id for m in message.mentions):
            return
        try:
            # Without the message_content intent, Discord still sends the text of messages
            # that mention the bot. "<@id>" tokens are how the bot and targets appear.
            parsed = parse(clean_text(message.content), str(me.id))
        except UserError as exc:
            await self.reply_to(message, self.refusal(exc.key, **exc.context))
            return
        if parsed is None:  # e.g. a reply that pings the bot without addressing it
            return
        wanted = set(parsed.mentions)
        targets = tuple(m for m in message.mentions if str(m.id) in wanted and m.id != me.id)
        # Arguments count for public commands ("@KloutBot leaderboard 2"). A private one
        # asked in a channel gets its how-to (the /privacy info text), never its action:
        # the answer would be public, and an export or a forget code belongs in an
        # ephemeral slash reply.
        args = () if parsed.name in PRIVATE_COMMANDS else parsed.args
        request = self.request(message.guild, message.channel.id, message.author,
                               parsed.name, args, targets, is_admin=False)
        reply, rendered = await self.app.handle(request)
        if reply.quiet:  # a repeat within a cooldown: a public "wait" once is enough
            return
        sent = await self.reply_to(message, (reply, rendered))
        if sent is not None and self.images.wanted(message.guild.id, reply):
            whose = targets[0] if targets else message.author
            await self.images.attach_to_message(sent, reply, rendered, whose)

    # -- buttons ----------------------------------------------------------------------
    async def page_clicked(self, interaction: discord.Interaction[Any], guild_id: int,
                           page: int, period: str) -> None:
        if interaction.guild_id is None or interaction.guild_id != guild_id:
            await self.respond(interaction, self.refusal("internal"))
            return
        guild = interaction.guild or discord.Object(guild_id)
        request = self.request(guild, interaction.channel_id, interaction.user, "leaderboard",
                               (str(page), period), (), is_admin=False)
        reply, rendered = await self.app.handle(request)
        message = interaction.message
        # A /leaderboard answer turns its own page; a posted board (the weekly one) stays
        # as posted and the clicker gets the page to themselves.
        in_place = message is not None and message.interaction_metadata is not None
        if in_place and reply.tone == "info":
            kwargs = message_kwargs(reply, rendered, guild_id)
            kwargs.setdefault("view", None)
            kwargs.setdefault("attachments", [])  # the last page's image goes
            try:
                await interaction.response.edit_message(**kwargs)
            except discord.HTTPException as exc:
                log.warning("could not turn leaderboard page in guild %s: %s", guild_id,
                            describe_http_error(exc))
                return
            if self.images.wanted(guild_id, reply):
                await self.images.attach(interaction, reply, rendered, interaction.user)
            return
        await self.respond(interaction, (_ephemeral(reply), rendered))

    # -- plumbing -----------------------------------------------------------------------
    def refusal(self, key: str, **context: Any) -> tuple[Reply, Rendered]:
        reply = Reply(f"errors/{key}", context, ephemeral=True, tone="refusal")
        return reply, self.app.renderer.render(reply, PLATFORM)

    def is_admin(self, interaction: discord.Interaction[Any]) -> bool:
        """Manage Server, checked here too: default_permissions can be overridden per
        server by its owner, and is only a default."""
        return bool(interaction.guild_id and interaction.permissions.manage_guild)

    def request(self, guild: discord.Guild | discord.Object, channel_id: int | None,
                author: discord.abc.User, command: str, args: tuple[str, ...],
                targets: tuple[discord.abc.User, ...], *, is_admin: bool) -> Request:
        return Request(
            platform=PLATFORM, community=str(guild.id), author=person_of(author),
            command=command, args=tuple(clean_text(a) for a in args),
            targets=tuple(person_of(t) for t in targets),
            now=self.app.clock.now(), channel=None if channel_id is None else str(channel_id),
            community_name=clean_optional(getattr(guild, "name", None)), is_admin=is_admin)

    async def answer(self, interaction: discord.Interaction[Any], command: str,
                     args: tuple[str, ...] = (),
                     targets: tuple[discord.abc.User, ...] = ()) -> None:
        await self._answer(interaction, command, args, targets)
        # Only once answered: an error on its way out still finds the response's state.
        _release(interaction)

    async def _answer(self, interaction: discord.Interaction[Any], command: str,
                      args: tuple[str, ...], targets: tuple[discord.abc.User, ...]) -> None:
        guild = interaction.guild or (
            discord.Object(interaction.guild_id) if interaction.guild_id else None)
        if guild is None:  # guild_only commands never get here from a DM
            await self.respond(interaction, self.refusal("internal"))
            return
        request = self.request(guild, interaction.channel_id, interaction.user, command, args,
                               targets, is_admin=self.is_admin(interaction))
        # Discord drops an interaction not acknowledged within 3 s ("The application did
        # not respond"). Most answers take a millisecond; a slow one (a forget or export
        # of a busy member, a cold cache, a busy database) acknowledges first, shows
        # "thinking", and follows up. A timer, not a task per request: the fast path
        # stays cheap.
        deferral: list[asyncio.Task[None]] = []
        timer = asyncio.get_running_loop().call_later(
            self.defer_after_s, lambda: deferral.append(asyncio.ensure_future(
                self._defer(interaction, ephemeral=command in PRIVATE_COMMANDS))))
        try:
            answer = await self.app.handle(request)
        finally:
            timer.cancel()
        if deferral:
            await deferral[0]
        answered = await self.respond(interaction, answer)
        reply = answer[0]
        if answered and self.images.wanted(interaction.guild_id, reply):
            whose = targets[0] if targets else interaction.user
            await self.images.attach(interaction, reply, answer[1], whose)
        if reply.attachments and command == "privacy":
            await self._dm_copy(interaction.user, answer)

    async def _defer(self, interaction: discord.Interaction[Any], *, ephemeral: bool) -> None:
        try:
            await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        except discord.HTTPException as exc:
            log.warning("could not acknowledge %s in guild %s: %s", _what(interaction),
                        interaction.guild_id, describe_http_error(exc))

    async def _dm_copy(self, user: discord.User | discord.Member,
                       answer: tuple[Reply, Rendered]) -> None:
        """Exports also go by direct message, so the file outlives the ephemeral reply."""
        reply, rendered = answer
        try:
            await user.send(rendered.text[:2000], files=files_of(reply),
                            allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:  # DMs closed (50007) is common and fine
            log.info("export not sent by DM to %s: %s", user.id, describe_http_error(exc))

    async def respond(self, interaction: discord.Interaction[Any],
                      answer: tuple[Reply, Rendered]) -> bool:
        """Send the answer; True once Discord took it."""
        reply, rendered = answer
        kwargs = message_kwargs(reply, rendered, interaction.guild_id)
        try:
            if interaction.response.is_done():  # acknowledged by _defer: follow up
                await interaction.followup.send(ephemeral=reply.ephemeral, **kwargs)
            else:
                await interaction.response.send_message(ephemeral=reply.ephemeral, **kwargs)
        except discord.NotFound as exc:
            # Nobody to tell: the interaction is gone (answered too late, or twice).
            log.warning("could not answer %s in guild %s: %s", _what(interaction),
                        interaction.guild_id, describe_http_error(exc))
            return False
        except discord.HTTPException as exc:
            log.error("could not answer %s in guild %s: %s", _what(interaction),
                      interaction.guild_id, describe_http_error(exc))
            await self._apologise(interaction)
            return False
        return True

    async def _apologise(self, interaction: discord.Interaction[Any]) -> None:
        """After a refused answer, try the plainest possible one."""
        if interaction.response.is_done():
            return
        text = self.app.renderer.render(Reply("errors/reply_failed"), PLATFORM).text
        try:
            await interaction.response.send_message(text, ephemeral=True,
                                                    allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            log.warning("could not tell the user either: %s", describe_http_error(exc))

    async def reply_to(self, message: discord.Message,
                       answer: tuple[Reply, Rendered]) -> discord.Message | None:
        """Answer a mention; the answer as sent with its embed, if it was."""
        reply, rendered = answer
        kwargs = message_kwargs(reply, rendered, message.guild.id if message.guild else None)
        try:
            return await message.reply(mention_author=False, **kwargs)
        except discord.HTTPException as exc:
            log.error("could not answer a mention in channel %s: %s", message.channel.id,
                      describe_http_error(exc))
            if exc.code == 50013 and "embed" in kwargs:
                # Often "Embed Links" is what's missing; the plain text may still go out.
                try:
                    await message.reply(rendered.text[:2000], mention_author=False,
                                        allowed_mentions=NO_PINGS)
                except discord.HTTPException as again:
                    log.error("plain answer refused too: %s", describe_http_error(again))
        return None


def _release(interaction: discord.Interaction[Any]) -> None:
    """Let an answered interaction be freed as soon as its task ends.

    discord.py's Interaction caches its InteractionResponse, which points back at it: a
    cycle only the garbage collector frees, holding the member, user, namespace and
    payload with it (12 objects a /klout). Under load those made most of the collector's
    runs, the longest of them in the middle of a burst. Nothing reads the response once
    the answer has gone (the command tree only dispatches app_command_completion, which
    nothing here listens to), so the cached one is dropped; asked again, discord.py
    would build a new one."""
    with contextlib.suppress(AttributeError):
        delattr(interaction, "_cs_response")


def _ephemeral(reply: Reply) -> Reply:
    return Reply(reply.template, reply.context, ephemeral=True, attachments=reply.attachments,
                 pager=reply.pager, tone=reply.tone)


def _what(interaction: discord.Interaction[Any]) -> str:
    command = interaction.command
    return f"/{command.qualified_name}" if command is not None else "a button"
