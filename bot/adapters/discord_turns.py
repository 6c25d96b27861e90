"""An interaction is answered before the next gateway frame is read.

discord.py's gateway loop reads every frame already buffered before it gives the event
loop back, and an interaction's command runs as a task that waits for that turn. When
frames arrive together (a burst of /klout, or interactions among a busy server's
messages), each answer therefore waited for every frame behind it to be parsed: 200
simultaneous /klout were all answered about 20 ms after they were read, the first as
late as the last. Yielding once after each INTERACTION_CREATE lets its command run to
the callback (a cached card needs no I/O before it) before the next frame is parsed,
so answers leave in arrival order, the first ones at once. Total work is unchanged;
the yield costs one event-loop turn per interaction.

discord.py builds the gateway connection itself (`DiscordWebSocket.from_client`), so
the hook sits on the class, like the endpoint settings in discord_endpoints. It acts
only after the adapter's own INTERACTION_CREATE parser has marked the connection's
state (`interaction_parsed`), so other clients in the process are untouched.
"""

from __future__ import annotations

import asyncio
from typing import Any

from discord.gateway import DiscordWebSocket

_PENDING = "_klout_interaction_pending"
_HOOKED = "_klout_turns"


def interaction_parsed(state: Any) -> None:
    """Called by the INTERACTION_CREATE parser: yield once this frame is handled."""
    setattr(state, _PENDING, True)


def install() -> None:
    """Hook the gateway's frame handler (once per process)."""
    current = DiscordWebSocket.received_message
    if getattr(current, _HOOKED, False):
        return

    async def received_message(self: DiscordWebSocket, msg: Any, /) -> None:
        await current(self, msg)
        state = self._connection
        if getattr(state, _PENDING, False):
            setattr(state, _PENDING, False)
            await asyncio.sleep(0)

    setattr(received_message, _HOOKED, True)
    DiscordWebSocket.received_message = received_message  # type: ignore[method-assign]
