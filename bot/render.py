"""Render replies from templates/ with one jinja2 Environment.

StrictUndefined turns a missing variable into an exception (and so a failing
test) instead of a blank in chat. Platform variants live in
templates/<platform>/<name>.j2 and fall back to templates/<name>.j2.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import pass_context

from commands.types import Reply

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
_DISCORD_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]()-])")


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered reply. `title` and `body` come from blocks of the same name, if any."""

    text: str
    title: str | None = None
    body: str | None = None
    footer: str | None = None


def escape_name(name: str, platform: str) -> str:
    """Make a display name inert: no pings, no markdown, no line breaks, no bidi or
    zero-width tricks, no stacks of combining marks."""
    name = " ".join(_visible(str(name)).split())[:64] or "?"
    if platform == "discord":
        name = _DISCORD_MARKDOWN.sub(r"\\\1", name)
        # A zero-width space after @ stops @everyone/@here and <@id> from pinging.
        return name.replace("@", "@\u200b").replace("<", "<\u200b")
    if platform == "twitter":
        # X turns @handle into a mention and #tag into a link; write handles bare.
        return name.replace("@", "").replace("#", "＃")
    return name


def _visible(text: str) -> str:
    """Drop control and format characters (bidi overrides and isolates, zero-width
    spaces, BOMs) except the zero-width joiner inside emoji, and keep at most two
    combining marks in a row (so "Zalgo" names cannot spill over other lines)."""
    out: list[str] = []
    marks = 0
    for ch in text:
        if ch.isspace():
            out.append(" ")
            marks = 0
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf") and ch != "\u200d":
            continue
        marks = marks + 1 if category == "Mn" else 0
        if marks <= 2:
            out.append(ch)
    return "".join(out)


def signed(value: int | None) -> str:
    if value is None:
        return "new"
    return f"+{value}" if value > 0 else ("±0" if value == 0 else str(value))


class Renderer:
    def __init__(self, template_dir: Path = TEMPLATE_DIR) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(template_dir)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # noqa: S701 - chat text, not HTML; names go through |name
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters["name"] = _name_filter
        self.env.filters["signed"] = signed
        self.env.filters["pct"] = lambda x: f"{round(float(x) * 100)}%"

    def template_for(self, name: str, platform: str) -> jinja2.Template:
        return self.env.get_or_select_template([f"{platform}/{name}.j2", f"{name}.j2"])

    def render(self, reply: Reply, platform: str) -> Rendered:
        return self.render_name(reply.template, platform, dict(reply.context))

    def render_name(self, name: str, platform: str, context: dict[str, Any]) -> Rendered:
        template = self.template_for(name, platform)
        ctx = {"platform": platform, **context}
        text = _tidy(template.render(ctx))
        parts: dict[str, str | None] = {}
        for block in ("title", "body", "footer"):
            if block in template.blocks:
                tctx = template.new_context(ctx)
                parts[block] = _tidy("".join(template.blocks[block](tctx)))
        return Rendered(text, parts.get("title"), parts.get("body"), parts.get("footer"))


@pass_context
def _name_filter(ctx: Any, value: Any) -> str:
    return escape_name(str(value), str(ctx.get("platform", "console")))


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out)
