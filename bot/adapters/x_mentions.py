"""Translate a mention (X's JSON) into what the bot keeps: a claim row and observed actions.

The post text is parsed here and then dropped; only the command, its arguments (the
parser keeps at most three words, for "privacy forget confirm CODE"), the handles it
names and the ids X resolved them to are kept.

Observed actions (community "x"): a post that replies to someone is a REPLY to them,
people it mentions, other than the bot and the people a question asks about, are
MENTIONs, and a post that quotes another is a QUOTE on that post's author. The quoted
author is not in the mention itself: the adapter looks the quoted posts of a poll up
in one batched call (`quote_activity` builds the action from what it returns).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.ingest import Activity
from bot.storage.twitter import MentionRow
from commands.errors import UserError
from commands.parse import parse
from commands.types import Person
from scoring.kinds import Kind

PLATFORM = "twitter"
COMMUNITY = "x"
TWEPOCH_MS = 1288834974657
MAX_ARGS = 3
ARG_COMMANDS = frozenset({"privacy"})
_HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")
_LEADING_MENTION = re.compile(r"\s*[@＠]([A-Za-z0-9_]{1,15})\b")


def snowflake_at(when: datetime) -> int:
    """The smallest post id X could assign at `when` (ids start with a millisecond clock)."""
    return max(int(when.timestamp() * 1000) - TWEPOCH_MS, 0) << 22


def time_of(post_id: str | int) -> datetime:
    return datetime.fromtimestamp(((int(post_id) >> 22) + TWEPOCH_MS) / 1000, tz=UTC)


def x_person(user_id: str, username: str, created_at: int | None = None) -> Person:
    """People on X are shown by handle (written without "@" by the renderer). Without a
    username (a mention's author is not expanded) it is a bare reference: the names
    already stored are kept, and a later profile lookup fills them in. `created_at` is
    the account's creation time when a user object that was fetched anyway had it."""
    return Person(PLATFORM, user_id, username, handle=username or None,
                  created_at=created_at)


@dataclass(frozen=True, slots=True)
class SeenMention:
    row: MentionRow
    ignored: str | None  # why the bot will not even claim it
    in_reply_to_user_id: str | None
    mentioned: tuple[tuple[str, str], ...]  # (id, username) besides the bot and the author
    when: datetime
    quoted_id: str | None = None

    def quote_activity(self, quoted_author_id: str, username: str,
                       created_at: int | None = None) -> Activity | None:
        """The QUOTE on the quoted post's author (none for quoting oneself or the bot)."""
        row = self.row
        if quoted_author_id in ("", row.author_id):
            return None
        return Activity(PLATFORM, COMMUNITY, x_person(row.author_id, row.author_handle),
                        Kind.QUOTE, self.when,
                        x_person(quoted_author_id, username, created_at),
                        row.conversation_id, row.post_id)

    def activities(self) -> list[Activity]:
        """What the post shows people doing to each other (never to the bot)."""
        row = self.row
        author = x_person(row.author_id, row.author_handle)
        acts = [Activity(PLATFORM, COMMUNITY, author, Kind.MESSAGE, self.when,
                         channel=row.conversation_id, source=row.post_id)]
        replied = self.in_reply_to_user_id
        if replied and replied != row.author_id:
            name = dict(self.mentioned).get(replied)
            if name is not None:
                acts.append(Activity(PLATFORM, COMMUNITY, author, Kind.REPLY, self.when,
                                     x_person(replied, name), row.conversation_id, row.post_id))
        # Naming someone in a question to the bot ("what about @bo") is not an action
        # on bo: counting it would let anyone raise a score by asking about it.
        asked_about = {user_id for user_id, _ in row.targets}
        for user_id, username in self.mentioned:
            if user_id != replied and user_id not in asked_about:
                acts.append(Activity(PLATFORM, COMMUNITY, author, Kind.MENTION, self.when,
                                     x_person(user_id, username), row.conversation_id,
                                     row.post_id))
        return acts


def _refs(post: dict[str, Any], kind: str) -> list[str]:
    return [str(r["id"]) for r in post.get("referenced_tweets") or []
            if isinstance(r, dict) and r.get("type") == kind]


def _entity_mentions(post: dict[str, Any]) -> list[dict[str, Any]]:
    found = (post.get("entities") or {}).get("mentions") or []
    return [m for m in found if isinstance(m, dict) and m.get("username")]


def _strip_reply_context(text: str, bot_handle: str) -> str:
    """Drop the @handles X's apps put in front of a reply (other than the bot's own)."""
    while True:
        match = _LEADING_MENTION.match(text)
        if match is None or match.group(1).lower() == bot_handle.lower():
            return text.lstrip()
        text = text[match.end():]


def read_mention(post: dict[str, Any], users: dict[str, dict[str, Any]], bot_id: str,
                 bot_handle: str) -> SeenMention:
    post_id = str(post["id"])
    author_id = str(post.get("author_id", ""))
    author = users.get(author_id) or {}
    handle = str(author.get("username") or "")
    is_reply = bool(_refs(post, "replied_to"))
    in_reply_to = str(post["in_reply_to_user_id"]) if post.get("in_reply_to_user_id") else None
    created = post.get("created_at")
    when = (datetime.fromisoformat(str(created).replace("Z", "+00:00")) if created
            else time_of(post_id))
    entities = {str(m["username"]).lower(): (str(m.get("id") or ""), str(m["username"]))
                for m in _entity_mentions(post)}
    mentioned = tuple(dict.fromkeys(
        (i, u) for i, u in entities.values() if i and i not in (bot_id, author_id)))

    ignored = None
    text = str(post.get("text", ""))
    if author_id == bot_id:
        ignored = "own post"
    elif _refs(post, "retweeted") or text.startswith("RT @"):
        ignored = "repost"

    command = ""
    args: tuple[str, ...] = ()
    targets: tuple[tuple[str, str], ...] = ()
    unresolved: tuple[str, ...] = ()
    error_key: str | None = None
    error_context: dict[str, object] = {}
    body = _strip_reply_context(text, bot_handle) if is_reply else text
    try:
        parsed = parse(body, bot_handle)
    except UserError as exc:
        error_key, error_context = exc.key, dict(exc.context)
    else:
        if parsed is not None:
            command = parsed.name
            # Only commands that take words on X ("privacy forget confirm K7QX2M") keep
            # them; anything else someone typed is post text and is dropped.
            if command in ARG_COMMANDS:
                args = parsed.args[:MAX_ARGS]
            names = []
            for name in parsed.mentions:
                match = _HANDLE.match(name)
                if match and match.group().lower() != bot_handle.lower():
                    names.append(match.group())
            found = [entities.get(n.lower(), ("", n)) for n in dict.fromkeys(names)]
            targets = tuple(t for t in found if t[0] != bot_id)
    row = MentionRow(
        post_id=post_id, author_id=author_id, author_handle=handle,
        conversation_id=str(post.get("conversation_id") or post_id), is_reply=is_reply,
        command=command, targets=targets, unresolved=unresolved, error_key=error_key,
        error_context=error_context, created_at=int(when.timestamp()), args=args)
    quoted = _refs(post, "quoted")
    return SeenMention(row, ignored, in_reply_to, mentioned, when,
                       quoted[0] if quoted else None)
