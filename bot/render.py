"""Render replies from templates/ with one jinja2 Environment.

StrictUndefined turns a missing variable into an exception (and so a failing
test) instead of a blank in chat. Platform variants live in
templates/<platform>/<name>.j2 and fall back to templates/<name>.j2.

A reply renders in one pass: the title/body/footer blocks are captured as the whole
template renders, not rendered again one by one. Replies about a score card that
CardCache served are memoised by the card's identity (the same card object, asked
the same way, reads the same), so a busy /klout renders each card once per rescore.
"""

from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import pass_context

from commands.ports import ScoreCard
from commands.types import Reply

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
_DISCORD_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]()-])")
EMBED_BLOCKS = ("title", "body", "footer")
# Context values memoised by identity: immutable, and handed out again by a cache
# (bot/services/card_cache.py). Anything else in a context turns the memo off.
_BY_IDENTITY = (ScoreCard,)
_SCALARS = (str, int, float, bool, type(None))
MEMO_SIZE = 4096


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
    def __init__(self, template_dir: Path = TEMPLATE_DIR, memo_size: int = MEMO_SIZE) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(template_dir)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # noqa: S701 - chat text, not HTML; names go through |name
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            # Templates ship with the code: stat()ing each file on every render (jinja's
            # default) cost ~60 us per reply.
            auto_reload=False,
        )
        self._memo: OrderedDict[tuple[object, ...], tuple[tuple[object, ...], Rendered]] = \
            OrderedDict()
        self._memo_size = memo_size
        self.env.filters["name"] = _name_filter
        self.env.filters["signed"] = signed
        self.env.filters["pct"] = lambda x: f"{round(float(x) * 100)}%"

    def forget_memo(self) -> None:
        """Drop every memoised render (e.g. after a forget: they may hold its names)."""
        self._memo.clear()

    def template_for(self, name: str, platform: str) -> jinja2.Template:
        return self.env.get_or_select_template([f"{platform}/{name}.j2", f"{name}.j2"])

    def render(self, reply: Reply, platform: str) -> Rendered:
        return self.render_name(reply.template, platform, dict(reply.context))

    def render_name(self, name: str, platform: str, context: dict[str, Any]) -> Rendered:
        memo = _memo_key(name, platform, context)
        if memo is not None:
            key, pinned = memo
            hit = self._memo.get(key)
            # ids are only unique among live objects: the entry keeps its objects alive,
            # and `is` makes sure they are the very ones asked about.
            if hit is not None and all(a is b for a, b in zip(hit[0], pinned, strict=True)):
                self._memo.move_to_end(key)
                return hit[1]
        rendered = self._render(name, platform, context)
        if memo is not None:
            self._memo[memo[0]] = (memo[1], rendered)
            if len(self._memo) > self._memo_size:
                self._memo.popitem(last=False)
        return rendered

    def _render(self, name: str, platform: str, context: dict[str, Any]) -> Rendered:
        template = self.template_for(name, platform)
        ctx = template.new_context({"platform": platform, **context})
        captured: dict[str, str] = {}
        wanted = [b for b in EMBED_BLOCKS if b in ctx.blocks]
        for block in wanted:
            ctx.blocks[block] = [_capturing(ctx.blocks[block][0], block, captured),
                                 *ctx.blocks[block][1:]]
        try:
            text = _tidy(self.env.concat(template.root_render_func(ctx)))
        except Exception:
            self.env.handle_exception()
        parts: dict[str, str] = {}
        for block in wanted:
            if block in captured:
                parts[block] = _tidy(captured[block])
            else:  # not reached by the whole render (e.g. inside a false {% if %})
                parts[block] = _tidy("".join(template.blocks[block](template.new_context(
                    {"platform": platform, **context}))))
        return Rendered(text, parts.get("title"), parts.get("body"), parts.get("footer"))


BlockFunc = Callable[[Any], Iterator[str]]


def _capturing(block: BlockFunc, name: str, into: dict[str, str]) -> BlockFunc:
    """The block, recording what its first call yields (what a separate render gives)."""
    def capture(context: Any) -> Iterator[str]:
        chunks: list[str] = []
        for chunk in block(context):
            chunks.append(chunk)
            yield chunk
        into.setdefault(name, "".join(chunks))
    return capture


def _memo_key(name: str, platform: str, context: dict[str, Any]
              ) -> tuple[tuple[object, ...], tuple[object, ...]] | None:
    """(key, objects the key names by id), when every value is a scalar or a memoisable
    immutable object and at least one is the latter; else None (render afresh)."""
    key: list[object] = [name, platform]
    pinned: list[object] = []
    for k, v in context.items():
        if isinstance(v, _SCALARS):
            key.append((k, v))
        elif isinstance(v, _BY_IDENTITY):
            key.append((k, id(v)))
            pinned.append(v)
        else:
            return None
    return (tuple(key), tuple(pinned)) if pinned else None


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
