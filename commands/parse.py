"""Parse what people type ("/klout @ana", "@KloutBot what about @bo") into a command."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from commands.errors import UserError

MAX_INPUT = 2_000
# Names: letters, digits, underscore, dot, dash; Discord-style <@123> ids too.
_MENTION = re.compile(r"<@!?(\d{1,25})>|@([\w.\-]{1,64})", re.UNICODE)
_INVISIBLE = {"Cc", "Cf", "Zl", "Zp"}
# What may follow "leaderboard" in a sentence (commands/leaderboard.py reads them).
_BOARD_WORDS = frozenset({"week", "this-week", "weekly", "this", "alltime", "all-time", "all",
                          "time"})


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    name: str
    args: tuple[str, ...]
    mentions: tuple[str, ...]
    addressed_bot: bool = False


def clean(text: str) -> str:
    """Drop control and format characters (NUL, zero-width, bidi overrides) and normalise."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if unicodedata.category(ch) not in _INVISIBLE or ch == " ")


def parse(text: str, bot_name: str) -> ParsedCommand | None:
    """Return the command in `text`, or None when it is not addressed to the bot.

    Raises UserError for input that is addressed to the bot but unusable.
    """
    if len(text) > MAX_INPUT:
        raise UserError("too_long", limit=MAX_INPUT)
    text = clean(text).strip()
    if not text:
        return None
    if text.startswith("/"):
        head, _, rest = text[1:].partition(" ")
        name = head.lower()
        if not name or not re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", name):
            raise UserError("malformed_command", text=text[:40])
        args, mentions = _split(rest, bot_name)
        return ParsedCommand(name, args, mentions)
    mentions = _mentions(text)
    bot = bot_name.lower()
    if bot not in (m.lower() for m in mentions):
        return None
    others = tuple(m for m in mentions if m.lower() != bot)
    # "@KloutBot leaderboard" and "@KloutBot help" are commands too.
    raw_words = _MENTION.sub(" ", text).split()
    words = [w.lower() for w in raw_words]
    for i, word in enumerate(words):
        if word == "privacy":
            # "@KloutBot privacy forget confirm K7QX2M": the rest are its arguments (a
            # confirmation code keeps its case; punctuation around words is dropped).
            args = tuple(w.strip(".,!?;:") for w in raw_words[i + 1:i + 4])
            return ParsedCommand(word, tuple(a for a in args if a), others,
                                 addressed_bot=True)
        if word == "leaderboard":
            return ParsedCommand(word, _board_words(raw_words[i + 1:]), others,
                                 addressed_bot=True)
        if word == "help":
            return ParsedCommand(word, (), others, addressed_bot=True)
    return ParsedCommand("klout", (), others, addressed_bot=True)


def _board_words(words: list[str]) -> tuple[str, ...]:
    """The page and period after "leaderboard" in a sentence ("leaderboard page 2, all
    time please" -> ("2", "all", "time")); the first other word ends them."""
    found = []
    for raw in words:
        word = raw.strip(".,!?;:#").lower()
        if word == "page":
            continue
        if not (word in _BOARD_WORDS or (word.isdigit() and len(word) < 7)):
            break
        found.append(word)
    return tuple(found)


def _mentions(text: str) -> tuple[str, ...]:
    return tuple(m.group(1) or m.group(2) for m in _MENTION.finditer(text))


def _split(rest: str, bot_name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    mentions = tuple(m for m in _mentions(rest) if m.lower() != bot_name.lower())
    args = tuple(w for w in _MENTION.sub(" ", rest).split())
    return args, mentions
