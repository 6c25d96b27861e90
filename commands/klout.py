"""/klout [who] and mentions of the bot."""

from __future__ import annotations

from commands.errors import UserError
from commands.ports import Ports
from commands.router import CommandSpec
from commands.types import Reply, Request


async def klout(request: Request, ports: Ports) -> Reply:
    if request.unresolved and not request.targets:
        raise UserError("unknown_user", name=request.unresolved[0][:64])
    if len(request.targets) > 1:
        raise UserError("one_at_a_time")
    person = request.targets[0] if request.targets else request.author
    asking_self = person.external_id == request.author.external_id
    card = await ports.influence.card(request.platform, request.community, person, request.now)
    if card.status == "unknown":
        raise UserError("unknown_user", name=person.display_name[:64])
    if card.status == "opted_out":
        if asking_self:
            raise UserError("opted_out_self")
        raise UserError("opted_out", name=person.display_name[:64])
    template = "klout" if card.status != "unscored" else "klout_unscored"
    # Templates read `asking_self`: in Jinja `self` is the template itself (always truthy).
    return Reply(template, {"card": card, "asking_self": asking_self,
                            "bot_name": ports.bot_name})


SPEC = CommandSpec("klout", klout, "Your influence score, or someone else's.",
                   aliases=("score",))
