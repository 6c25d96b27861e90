"""Platform-neutral command handlers: a Request in, a Reply out."""

from __future__ import annotations

from commands import help as help_command
from commands import klout, leaderboard
from commands.ports import Ports
from commands.router import Router


def build_router(ports: Ports) -> Router:
    router = Router(ports)
    for spec in (klout.SPEC, leaderboard.SPEC, help_command.SPEC):
        router.add(spec)
    return router
