"""Text from outside, made safe once at the edge of every adapter.

Platforms and pipes can hand us text no later step can store or print: bytes that are
not UTF-8 (a console pipe), or lone surrogates (JSON allows "\\ud800" escapes, and
Python decodes them to a str that SQLite, the renderer and the log all refuse). Every
adapter's translation passes what it reads through here, so nothing downstream ever
sees them; each bad code unit becomes U+FFFD, the replacement character.
"""

from __future__ import annotations

from typing import Any


def clean_text(value: str) -> str:
    """`value` with every lone surrogate replaced by U+FFFD (valid pairs are joined)."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # UTF-16 with surrogatepass joins a high and low surrogate written as two code
        # points into the character they mean; what is left alone becomes U+FFFD.
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return value


def clean_optional(value: str | None) -> str | None:
    return None if value is None else clean_text(value)


def decode_text(raw: bytes) -> str:
    """Bytes read from outside as text; what is not UTF-8 becomes U+FFFD."""
    return raw.decode("utf-8", "replace")


def clean_json(value: Any) -> Any:
    """A parsed JSON document with every string in it (keys too) passed through
    `clean_text`; other values are returned as they are."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_json(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    return value
