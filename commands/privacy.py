"""/privacy optout | optin | forget [confirm CODE] | export | info.

Every subcommand acts on the asker only, whoever else the message mentions (on X a
reply mentions everyone in the thread): nobody can opt out, forget or export
someone else.
"""

from __future__ import annotations

from dataclasses import asdict

from commands.errors import UserError
from commands.ports import Ports
from commands.privacy_types import Export
from commands.router import CommandSpec
from commands.types import Attachment, Reply, Request

FORGET = "forget"
_ALIASES = {
    "optout": "optout", "opt-out": "optout", "out": "optout",
    "optin": "optin", "opt-in": "optin", "in": "optin",
    "forget": "forget", "delete": "forget", "erase": "forget",
    "export": "export", "download": "export",
    "info": "info", "about": "info", "what": "info",
}
# Platforms where a reply cannot carry a file; exports are explained instead.
_NO_FILES = frozenset({"twitter"})


async def privacy(request: Request, ports: Ports) -> Reply:
    words = [w.lower() for w in request.args]
    sub = _ALIASES.get(words[0]) if words else "info"
    if sub is None:
        raise UserError("privacy_usage", arg=request.args[0][:32])
    if sub == "info":
        return Reply("privacy_info", {"bot_name": ports.bot_name})
    if sub == "optout":
        changed = await ports.privacy.opt_out(request.author)
        return Reply("privacy_optout", {"changed": changed, "bot_name": ports.bot_name},
                     ephemeral=True)
    if sub == "optin":
        changed = await ports.privacy.opt_in(request.author)
        return Reply("privacy_optin", {"changed": changed, "bot_name": ports.bot_name},
                     ephemeral=True)
    if sub == "export":
        return await _export(request, ports)
    return await _forget(request, ports, words[1:])


async def _forget(request: Request, ports: Ports, rest: list[str]) -> Reply:
    key = (request.platform, request.author.external_id)
    if rest and rest[0] == "confirm":
        if len(rest) != 2:
            raise UserError("confirm_usage", command="privacy forget")
        state = ports.privacy.check_confirmation(FORGET, key, request.args[2], request.now)
        if state != "ok":
            raise UserError(f"confirm_{state}", command="privacy forget")
        deleted = await ports.privacy.forget(request.author)
        return Reply("privacy_forgotten", {"counts": asdict(deleted),
                                           "bot_name": ports.bot_name}, ephemeral=True)
    if rest:
        raise UserError("confirm_usage", command="privacy forget")
    stored = await ports.privacy.footprint(request.author)
    code = ports.privacy.issue_confirmation(FORGET, key, request.now)
    return Reply("privacy_forget_confirm",
                 {"counts": asdict(stored), "code": code, "bot_name": ports.bot_name,
                  "minutes": ports.privacy.confirm_minutes},
                 ephemeral=True)


async def _export(request: Request, ports: Ports) -> Reply:
    if request.platform in _NO_FILES:
        return Reply("privacy_export_elsewhere", {"contact": ports.privacy.contact,
                                                  "bot_name": ports.bot_name}, ephemeral=True)
    export = await ports.privacy.export(request.author, request.now)
    return Reply("privacy_export",
                 {"filename": export.filename, "communities": export.communities,
                  "events": export.events},
                 ephemeral=True,
                 attachments=(Attachment(export.filename, export.data, _content_type(export)),))


def _content_type(export: Export) -> str:
    return "application/gzip" if export.filename.endswith(".gz") else "application/json"


SPEC = CommandSpec("privacy", privacy,
                   "Opt out, opt back in, see, export or delete what is stored about you.")
