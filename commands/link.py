"""/link twitter <handle>, /link twitter verify [code], /unlink twitter.

Linking is always the person's own verified choice: the bot gives a one-time code,
the person puts it in their X bio (or posts it mentioning the bot), and only then
are the accounts linked.
"""

from __future__ import annotations

import re

from commands.errors import UserError
from commands.ports import Ports
from commands.privacy_types import LinkCode
from commands.router import CommandSpec
from commands.types import Reply, Request

NETWORKS = {"twitter": "twitter", "x": "twitter"}
_HANDLE = re.compile(r"^[A-Za-z0-9_]{1,15}$")


def _network(request: Request, verb: str) -> str:
    if not request.args:
        raise UserError("link_usage", verb=verb)
    network = NETWORKS.get(request.args[0].lower())
    if network is None:
        raise UserError("link_unknown_network", network=request.args[0][:32], verb=verb)
    if network == request.platform:
        raise UserError("link_same_network")
    return network


async def link(request: Request, ports: Ports) -> Reply:
    network = _network(request, "link")
    # "/link twitter @handle" arrives with the handle parsed out as a mention.
    rest = list(request.args[1:]) or [*request.unresolved,
                                      *(t.handle or t.external_id for t in request.targets)]
    if not rest:
        raise UserError("link_usage", verb="link")
    if rest[0].lower() == "verify":
        if len(rest) > 2:
            raise UserError("link_usage", verb="link")
        code = rest[1] if len(rest) == 2 else None
        outcome = await ports.privacy.verify_link(request.author, network, request.now, code)
        if outcome.status != "linked":
            raise UserError(f"link_{outcome.status}", handle=outcome.handle,
                            network=network, bot_name=ports.bot_name)
        return Reply("link_done", {"handle": outcome.handle, "network": network},
                     ephemeral=True)
    if len(rest) != 1:
        raise UserError("link_usage", verb="link")
    handle = rest[0].lstrip("@")
    if not _HANDLE.match(handle):
        raise UserError("link_bad_handle", handle=handle[:32])
    issued = await ports.privacy.start_link(request.author, network, handle, request.now)
    if not isinstance(issued, LinkCode):
        raise UserError(f"link_{issued.status}", handle=issued.handle, network=network,
                        bot_name=ports.bot_name)
    return Reply("link_code", {"code": issued.code, "handle": issued.handle,
                               "minutes": issued.minutes, "network": network,
                               "bot_name": ports.bot_name}, ephemeral=True)


async def unlink(request: Request, ports: Ports) -> Reply:
    network = _network(request, "unlink")
    if len(request.args) > 1:
        raise UserError("link_usage", verb="unlink")
    handle = await ports.privacy.unlink(request.author, network)
    if handle is None:
        raise UserError("unlink_nothing", network=network)
    return Reply("unlink_done", {"handle": handle, "network": network}, ephemeral=True)


LINK_SPEC = CommandSpec("link", link, "Link your X account so your score combines both.")
UNLINK_SPEC = CommandSpec("unlink", unlink, "Undo /link.")
