"""What an adapter implements so the weekly leaderboard can post through it.

    send(destination, reply) -> message id        (bot.adapters.base.Adapter.send)
    recent_own_posts(destination, since) -> [PostRef]

`send` renders `reply` with the app's renderer for the adapter's platform and posts
it to `destination` (a Discord channel id, "timeline" on X, a console channel name).
A reply whose context has "in_reply_to" (the message id of the previous part) is the
next part of a thread: X posts it as a reply to that id; Discord and the console may
ignore it. Posts must not ping anyone (allowed mentions none, handles without "@").

`recent_own_posts` returns the bot's own posts in `destination` created at or after
`since`, with their text (Discord: content plus embed title, description and footer;
X: the post text). The poster finds its marker in that text to tell whether a claimed
period was already posted before a crash. It must raise, not return [], when it
cannot tell (platform down, not logged in yet): [] means "nothing was posted".

Optionally, `community_for(destination)` returns the community (guild id) a
destination belongs to, for config entries that name only a channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from commands.types import Reply


@dataclass(frozen=True, slots=True)
class PostRef:
    message_id: str
    text: str


@runtime_checkable
class LeaderboardTarget(Protocol):
    name: str

    async def send(self, destination: str, reply: Reply) -> str | None: ...

    async def recent_own_posts(self, destination: str, since: datetime) -> list[PostRef]: ...


@runtime_checkable
class ResolvesCommunity(Protocol):
    async def community_for(self, destination: str) -> str | None: ...
