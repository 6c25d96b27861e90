"""Dispatch a Request to its handler, with every failure handled in one place."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from commands.errors import UserError
from commands.ports import Ports
from commands.types import Reply, Request

log = logging.getLogger(__name__)

Handler = Callable[[Request, Ports], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    handler: Handler
    summary: str
    admin: bool = False
    aliases: tuple[str, ...] = ()


class Router:
    def __init__(self, ports: Ports) -> None:
        self.ports = ports
        self._specs: dict[str, CommandSpec] = {}

    def add(self, spec: CommandSpec) -> None:
        for name in (spec.name, *spec.aliases):
            if name in self._specs:
                raise ValueError(f"command {name!r} registered twice")
            self._specs[name] = spec

    @property
    def commands(self) -> list[CommandSpec]:
        seen = {id(s): s for s in self._specs.values()}
        return sorted(seen.values(), key=lambda s: s.name)

    async def dispatch(self, request: Request) -> Reply:
        """Run the handler. UserError -> polite reply; anything else -> logged, generic reply."""
        spec = self._specs.get(request.command)
        try:
            if spec is None:
                raise UserError("unknown_command", command=request.command[:32],
                                known=[s.name for s in self.commands if not s.admin])
            if spec.admin and not request.is_admin:
                raise UserError("not_admin", command=spec.name)
            return await spec.handler(request, self.ports)
        except UserError as exc:
            log.info("user error %s for %s/%s command %s", exc.key, request.platform,
                     request.community, request.command)
            return Reply(exc.template, exc.context, ephemeral=True, tone="refusal")
        except Exception as exc:
            # Known operational failures (a locked database, an API outage) name their
            # cause in one log line and map to a specific reply; the rest are bugs.
            template = getattr(exc, "reply_template", None)
            if isinstance(template, str):
                log.error("command %s failed for %s/%s: %s", request.command,
                          request.platform, request.community, exc)
                return Reply(template, {}, ephemeral=True, tone="error")
            log.exception("command %s failed for %s/%s", request.command, request.platform,
                          request.community)
            return Reply("errors/internal", {}, ephemeral=True, tone="error")
