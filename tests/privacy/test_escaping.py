"""Display names cannot ping anyone or break a post, on any platform."""

from __future__ import annotations

import unicodedata

import pytest

from bot.render import Renderer, escape_name
from commands.ports import BoardLine, BoardPage, Contributor, ScoreCard
from commands.types import Reply

HOSTILE = [
    "@everyone", "@here", "<@123>", "<@!123>", "<@&456>", "<#789>", "**bold**", "__under__",
    "`code`", "```block```", "~~strike~~", "||spoiler||", "> quote", "# Heading",
    "-# small", "[link](https://evil.example)", "ana\u202eevil", "\u2066rtl\u2069",
    "zero\u200bwidth", "@\u200beveryone", "a\nb\r\nc", "\x00nul", "Z\u0301\u0301\u0301\u0301\u0301",
    "\ufeffbom", "#hashtag", "@handle",
]


def _card(name: str) -> ScoreCard:
    return ScoreCard("scored", name, 50, "voice", 3, 1, 10, "replies", (40, 50),
                     (Contributor(name, 0.5),), {}, {}, "m1")


def _board(name: str) -> BoardPage:
    return BoardPage((BoardLine(1, name, 50, "voice", 2),), 1, 1, 1, "week")


def _renders(name: str, platform: str) -> list[str]:
    renderer = Renderer()
    replies = [
        Reply("klout", {"card": _card(name), "asking_self": False, "bot_name": "KloutBot"}),
        Reply("leaderboard", {"board": _board(name), "community": name}),
        Reply("errors/opted_out", {"name": name}),
        Reply("errors/unknown_user", {"name": name}),
    ]
    return [renderer.render(r, platform).text for r in replies]


def _no_invisible(text: str) -> bool:
    allowed = {"\u200b", "\u200d"}  # our own ping breaker; the emoji joiner
    return not any(unicodedata.category(ch) in ("Cc", "Cf") and ch not in allowed
                   and ch != "\n" for ch in text)


@pytest.mark.parametrize("name", HOSTILE)
def test_discord_names_cannot_ping_or_format(name: str) -> None:
    for text in _renders(name, "discord"):
        assert "@everyone" not in text and "@here" not in text
        assert "<@" not in text and "<#" not in text
        for mark in ("**", "__", "``", "~~", "||", "]("):
            assert mark not in text
        assert _no_invisible(text)
    escaped = escape_name(name, "discord")
    assert "\n" not in escaped and len(escaped) <= 64 * 3


@pytest.mark.parametrize("name", HOSTILE)
def test_x_names_cannot_mention_or_tag(name: str) -> None:
    for text in _renders(name, "twitter"):
        assert "@" not in text
        assert "#hashtag" not in text
        assert _no_invisible(text.replace("\u200b", ""))


@pytest.mark.parametrize("name", HOSTILE)
def test_console_names_stay_on_one_line(name: str) -> None:
    escaped = escape_name(name, "console")
    assert "\n" not in escaped and "\r" not in escaped
    assert _no_invisible(escaped)
    for text in _renders(name, "console"):
        assert _no_invisible(text)


def test_escaping_keeps_ordinary_names_readable() -> None:
    assert escape_name("Zoë Ångström", "discord") == "Zoë Ångström"
    assert escape_name("👨\u200d👩\u200d👧 family", "twitter") == "👨\u200d👩\u200d👧 family"
    assert escape_name("مرحبا", "console") == "مرحبا"
    assert escape_name("\u200b\u202e", "discord") == "?"


def test_discord_markdown_is_escaped_not_dropped() -> None:
    assert escape_name("**bold**", "discord") == "\\*\\*bold\\*\\*"
    assert escape_name("@everyone", "discord") == "@\u200beveryone"
