"""Drawing: a score card or a leaderboard page, from plain data, to PNG bytes.

Runs in the render workers (bot/cards/service.py), so it takes only picklable values
and touches nothing but Pillow and the bundled fonts. Every string on the image comes
in from templates/image/ already worded; this file only lays them out.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageOps

from bot.cards.fonts import BOLD, draw_text, fit

CARD_SIZE = (760, 300)
BOARD_WIDTH = 760
ROW_HEIGHT = 44
AVATAR = 120
BACKGROUND = (30, 31, 34, 255)
PANEL = (43, 45, 49, 255)
TEXT = (242, 243, 245)
MUTED = (181, 186, 193)
ACCENT = (88, 101, 242)
UP, DOWN = (87, 242, 135), (237, 66, 69)


@dataclass(frozen=True, slots=True)
class CardSpec:
    """Everything one score card image shows. Equal specs draw equal images."""

    name: str
    score: str
    change: str
    change_sign: int  # -1, 0 or 1: the colour of `change`
    tier_line: str
    why: str
    trend_label: str
    trend: tuple[int, ...]
    contributors_label: str
    contributors: tuple[str, ...]
    footer: str
    avatar: bytes | None = None  # PNG/JPEG/WebP bytes; None draws the initial


@dataclass(frozen=True, slots=True)
class BoardRow:
    rank: str
    name: str
    score: str
    tier: str
    change: str
    change_sign: int


@dataclass(frozen=True, slots=True)
class BoardSpec:
    title: str
    rows: tuple[BoardRow, ...]
    footer: str


def render_card(spec: CardSpec) -> bytes:
    image = Image.new("RGBA", CARD_SIZE, BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((12, 12, CARD_SIZE[0] - 12, CARD_SIZE[1] - 12), 18, fill=PANEL)
    image.alpha_composite(_avatar(spec.avatar, spec.name), (36, 36))
    left = 36 + AVATAR + 28
    draw_text(image, (left, 30), fit(spec.name, 30, 556 - left - 12, BOLD), 30, TEXT, BOLD)
    after = draw_text(image, (left, 66), spec.score, 58, TEXT, BOLD)
    draw_text(image, (after + 14, 96), spec.change, 22, _sign_colour(spec.change_sign))
    draw_text(image, (left, 140), fit(spec.tier_line, 20, 390), 20, MUTED)
    _trend(image, spec.trend_label, spec.trend, (556, 40, 720, 150))
    draw_text(image, (36, 178), fit(spec.why, 20, 688), 20, TEXT)
    if spec.contributors:
        line = f"{spec.contributors_label}: {', '.join(spec.contributors)}"
        draw_text(image, (36, 212), fit(line, 20, 688), 20, MUTED)
    draw_text(image, (36, 254), fit(spec.footer, 15, 688), 15, MUTED)
    return _png(image)


def render_board(spec: BoardSpec) -> bytes:
    height = 76 + ROW_HEIGHT * max(1, len(spec.rows)) + 44
    image = Image.new("RGBA", (BOARD_WIDTH, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((12, 12, BOARD_WIDTH - 12, height - 12), 18, fill=PANEL)
    draw_text(image, (32, 26), fit(spec.title, 26, 690, BOLD), 26, TEXT, BOLD)
    y = 76
    for i, row in enumerate(spec.rows):
        if i % 2 == 0:
            draw.rectangle((24, y - 4, BOARD_WIDTH - 24, y + ROW_HEIGHT - 8), fill=BACKGROUND)
        draw_text(image, (36, y + 4), row.rank, 22, ACCENT, BOLD)
        draw_text(image, (96, y + 4), fit(row.name, 22, 360), 22, TEXT)
        draw_text(image, (470, y + 4), row.score, 22, TEXT, BOLD)
        draw_text(image, (546, y + 6), fit(row.tier, 18, 110), 18, MUTED)
        draw_text(image, (664, y + 6), row.change, 18, _sign_colour(row.change_sign))
        y += ROW_HEIGHT
    draw_text(image, (36, height - 44), fit(spec.footer, 15, 688), 15, MUTED)
    return _png(image)


def _sign_colour(sign: int) -> tuple[int, int, int]:
    return UP if sign > 0 else DOWN if sign < 0 else MUTED


def _avatar(data: bytes | None, name: str) -> Image.Image:
    """The avatar in a circle; an unreadable or missing one becomes the name's initial."""
    picture: Image.Image | None = None
    if data:
        try:
            with Image.open(io.BytesIO(data)) as opened:
                picture = ImageOps.fit(opened.convert("RGBA"), (AVATAR, AVATAR),
                                       Image.Resampling.BILINEAR)
        except (OSError, ValueError, Image.DecompressionBombError):
            picture = None
    if picture is None:
        picture = Image.new("RGBA", (AVATAR, AVATAR), ACCENT)
        initial = (name.strip()[:1] or "?").upper()
        draw_text(picture, (AVATAR * 0.3, AVATAR * 0.12), initial, 62, TEXT, BOLD)
    mask = Image.new("L", (AVATAR, AVATAR), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, AVATAR - 1, AVATAR - 1), fill=255)
    round_picture = Image.new("RGBA", (AVATAR, AVATAR), (0, 0, 0, 0))
    round_picture.paste(picture, (0, 0), mask)
    return round_picture


def _trend(image: Image.Image, label: str, trend: tuple[int, ...],
           box: tuple[int, int, int, int]) -> None:
    """A small line chart of the weekly scores, oldest left, in `box`."""
    left, top, right, bottom = box
    draw_text(image, (left, top), fit(label, 16, right - left), 16, MUTED)
    if len(trend) < 2:
        return
    draw = ImageDraw.Draw(image)
    chart_top = top + 30
    low, high = min(trend), max(trend)
    span = max(1, high - low)
    step = (right - left) / (len(trend) - 1)
    points = [(left + i * step, bottom - (v - low) / span * (bottom - chart_top))
              for i, v in enumerate(trend)]
    draw.line([(left, bottom), (right, bottom)], fill=(*MUTED, 90), width=1)
    draw.line(points, fill=ACCENT, width=3, joint="curve")
    last = points[-1]
    draw.ellipse((last[0] - 4, last[1] - 4, last[0] + 4, last[1] + 4), fill=TEXT)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    # Level 1: a card is a few flat colours, so it compresses nearly as well as at 6
    # in a fraction of the time.
    image.convert("RGB").save(out, "PNG", compress_level=1)
    return out.getvalue()
