"""privacy-wipe-community [confirm CODE]: delete everything stored about this community.

Admins only; Discord exposes it as /kloutadmin wipe. The community's settings
(exclusions, schedules, tier roles) are kept, so the bot keeps working as set up.
"""

from __future__ import annotations

from dataclasses import asdict

from commands.errors import UserError
from commands.ports import Ports
from commands.router import CommandSpec
from commands.types import Reply, Request

WIPE = "wipe-community"
NAME = "privacy-wipe-community"


async def wipe(request: Request, ports: Ports) -> Reply:
    key = (request.platform, request.community, request.author.external_id)
    words = [w.lower() for w in request.args]
    if words and words[0] == "confirm":
        if len(words) != 2:
            raise UserError("confirm_usage", command=NAME)
        state = ports.privacy.check_confirmation(WIPE, key, request.args[1], request.now)
        if state != "ok":
            raise UserError(f"confirm_{state}", command=NAME)
        deleted = await ports.privacy.wipe_community(request.platform, request.community)
        return Reply("privacy_wiped", {"counts": asdict(deleted),
                                       "community": request.community_name or ""})
    if words:
        raise UserError("confirm_usage", command=NAME)
    stored = await ports.privacy.community_footprint(request.platform, request.community)
    code = ports.privacy.issue_confirmation(WIPE, key, request.now)
    return Reply("privacy_wipe_confirm",
                 {"counts": asdict(stored), "code": code, "command": NAME,
                  "minutes": ports.privacy.confirm_minutes,
                  "community": request.community_name or ""},
                 ephemeral=True)


SPEC = CommandSpec(NAME, wipe, "Delete all data stored about this community.", admin=True)
