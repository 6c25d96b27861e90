"""Platform-neutral command handlers: a Request in, a Reply out."""

from __future__ import annotations

from commands import (
    admin,
    klout,
    leaderboard,
    leaderboard_admin,
    link,
    privacy,
    privacy_admin,
)
from commands import help as help_command
from commands.ports import Ports
from commands.router import Router


def build_router(ports: Ports) -> Router:
    router = Router(ports)
    for spec in (klout.SPEC, leaderboard.SPEC, help_command.SPEC, admin.SPEC):
        router.add(spec)
    for spec in (privacy.SPEC, link.LINK_SPEC, link.UNLINK_SPEC, privacy_admin.SPEC):
        router.add(spec)
    for spec in (leaderboard_admin.PREVIEW_SPEC, leaderboard_admin.POST_SPEC):
        router.add(spec)
    return router
