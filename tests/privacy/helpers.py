"""Shared helpers for the privacy tests: console bots, codes read back from replies,
and raw looks at the database file."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.config import Config, LimitsSection
from bot.services.linking import StaticXVerifier
from commands.types import Person, Request
from tests.core.helpers import T0, ConsoleBot

CONFIRM = re.compile(r"confirm ([A-Z0-9]{6})\b")
LINK_CODE = re.compile(r"\bklout-[A-Z0-9]{8}\b")


def confirm_code(text: str) -> str:
    match = CONFIRM.search(text)
    assert match, f"no confirmation code in: {text}"
    return match.group(1)


def link_code(text: str) -> str:
    match = LINK_CODE.search(text)
    assert match, f"no link code in: {text}"
    return match.group(0)


def limited_config(**limits: object) -> Config:
    """Defaults, with cooldowns applied to the console too."""
    section = replace(LimitsSection(), platforms=["console"], **limits)
    return replace(Config(), limits=section)


def verifier(bot: ConsoleBot) -> StaticXVerifier:
    found = bot.app.privacy.verifier("twitter")
    assert isinstance(found, StaticXVerifier)
    return found


async def build_community(bot: ConsoleBot, fans: tuple[str, ...] = ("bo", "cy", "di")) -> None:
    """ana posts, fans reply and react; bo posts and ana replies; then a rescore."""
    await bot.say("post hello everyone", as_="ana")
    for fan in fans:
        await bot.say("reply #1 nice", as_=fan)
        await bot.say("react #1", as_=fan)
    out = await bot.say("post me too", as_="bo")
    ref = out.split("#")[1].split()[0]
    await bot.say(f"reply #{ref} sure", as_="ana")
    await bot.say("/rescore")


def score_of(text: str) -> int:
    """The score in a /klout answer ("ana: 35 (...)")."""
    return int(text.split(":")[1].split()[0])


def rows(db: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def database_text(db: Path) -> bytes:
    """Every byte of the database and its WAL, to search for anything left behind."""
    out = b""
    for suffix in ("", "-wal"):
        path = Path(str(db) + suffix)
        if path.exists():
            out += path.read_bytes()
    return out


def request(platform: str, community: str, who: str, command: str, *args: str,
            now: datetime = T0, is_admin: bool = False, channel: str = "c1") -> Request:
    person = Person(platform, who, who, handle=who)
    return Request(platform, community, person, command, args, now=now, channel=channel,
                   is_admin=is_admin)


def read_export(console_output: str) -> dict[str, Any]:
    """The export file the console saved (its path is the last line printed)."""
    path = Path(console_output.splitlines()[-1].removeprefix("saved to "))
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def export_path(console_output: str) -> Path:
    return Path(console_output.splitlines()[-1].removeprefix("saved to "))
