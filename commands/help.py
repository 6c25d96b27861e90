"""/help: what the bot can do here."""

from __future__ import annotations

from commands.ports import Ports
from commands.router import CommandSpec
from commands.types import Reply, Request


async def help_(request: Request, ports: Ports) -> Reply:
    return Reply("help", {"bot_name": ports.bot_name, "platform": request.platform})


SPEC = CommandSpec("help", help_, "What this bot does and how to use it.", aliases=("start",))
