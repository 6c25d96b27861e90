"""Bundled fonts and per-character fallback, so a name in any script draws as letters.

The fonts in fonts/ are subsets of Noto (bot/cards/subset_fonts.py; docs/cards.md says
what each covers). A line of text is cut into runs, each drawn with the first font of
the chain that has a glyph for its characters, read from the fonts' cmaps. Combining
marks, joiners and variation selectors stay in the run of the character they modify,
so shaping (Arabic through libraqm) sees whole words.
"""

from __future__ import annotations

import unicodedata
from functools import cache, lru_cache
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path(__file__).resolve().parent / "fonts"
EMOJI = "NotoColorEmoji-Single.ttf"
# Noto Color Emoji is a bitmap font with one strike: drawn at this size, then scaled.
EMOJI_STRIKE = 109
_SCRIPTS = ("NotoSansArabic-Regular.ttf", "NotoSansCJK-Common.otf", EMOJI)
REGULAR = ("NotoSans-Regular.ttf", *_SCRIPTS)
BOLD = ("NotoSans-Bold.ttf", *_SCRIPTS)
# Drawn in the first font when no font has the character: never a .notdef box.
MISSING = "?"
_STICKY = frozenset({"\u200d", "\u200c", "\ufe0f", "\ufe0e"})

Run = tuple[str, str]  # (font file, text)


@cache
def coverage(font_file: str) -> frozenset[int]:
    """The code points a bundled font has glyphs for."""
    font = TTFont(FONT_DIR / font_file, lazy=True, fontNumber=0)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


def font_for(ch: str, chain: tuple[str, ...]) -> str | None:
    cp = ord(ch)
    for font_file in chain:
        if cp in coverage(font_file):
            return font_file
    return None


def runs(text: str, chain: tuple[str, ...] = REGULAR) -> list[Run]:
    """`text` as consecutive (font, text) runs; characters no font has become MISSING."""
    out: list[list[str]] = []
    for ch in text:
        category = unicodedata.category(ch)
        # Marks and joiners belong to the character before; spaces, digits and
        # punctuation stay in the run they are in, so "محمد العلي" is one run that
        # libraqm orders and shapes as a whole.
        if out and (ch in _STICKY or category[0] in "MZNP" or category == "Sk") \
                and ord(ch) in coverage(out[-1][0]):
            out[-1][1] += ch
            continue
        font_file = font_for(ch, chain)
        if font_file is None:
            if ch in _STICKY or category in ("Mn", "Me", "Sk", "Cf"):
                continue  # an invisible modifier (a skin tone, a joiner): the base shows
            font_file, ch = chain[0], MISSING
        if out and out[-1][0] == font_file:
            out[-1][1] += ch
        else:
            out.append([font_file, ch])
    return [(f, t) for f, t in out]


@lru_cache(maxsize=64)
def face(font_file: str, size: int) -> ImageFont.FreeTypeFont:
    if font_file == EMOJI:
        size = EMOJI_STRIKE
    return ImageFont.truetype(str(FONT_DIR / font_file), size)


def run_width(run: Run, size: int) -> float:
    font_file, text = run
    if font_file == EMOJI:
        return face(EMOJI, size).getlength(text) * size / EMOJI_STRIKE
    return face(font_file, size).getlength(text)


def text_width(text: str, size: int, chain: tuple[str, ...] = REGULAR) -> float:
    return sum(run_width(r, size) for r in runs(text, chain))


def fit(text: str, size: int, width: float, chain: tuple[str, ...] = REGULAR) -> str:
    """`text`, shortened with an ellipsis until it is at most `width` pixels wide."""
    if text_width(text, size, chain) <= width:
        return text
    while text and text_width(text + "…", size, chain) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def draw_text(image: Image.Image, xy: tuple[float, float], text: str, size: int,
              fill: tuple[int, int, int], chain: tuple[str, ...] = REGULAR) -> float:
    """Draw `text` with its top-left at `xy`, run by run; returns the x after it.

    Every run sits on the first font's baseline: fonts differ in their ascenders (the
    Arabic one's is taller), so aligning tops would set scripts at different heights."""
    x, y = xy
    baseline = y + face(chain[0], size).getmetrics()[0]
    draw = ImageDraw.Draw(image)
    ordered = runs(text, chain)
    if _right_to_left(text):  # e.g. an Arabic name with a Latin word in it
        ordered.reverse()
    for run in ordered:
        font_file, chunk = run
        if font_file == EMOJI:
            x += _paste_emoji(image, (x, baseline - size), chunk, size)
            continue
        draw.text((x, baseline), chunk, font=face(font_file, size), fill=fill, anchor="ls")
        x += run_width(run, size)
    return x


def _right_to_left(text: str) -> bool:
    """Whether the first strongly directional character is written right to left."""
    for ch in text:
        direction = unicodedata.bidirectional(ch)
        if direction in ("R", "AL"):
            return True
        if direction == "L":
            return False
    return False


def _paste_emoji(image: Image.Image, xy: tuple[float, float], text: str, size: int) -> float:
    font = face(EMOJI, size)
    width = max(1, round(font.getlength(text)))
    strike = Image.new("RGBA", (width, round(EMOJI_STRIKE * 1.2)), (0, 0, 0, 0))
    ImageDraw.Draw(strike).text((0, 0), text, font=font, embedded_color=True, anchor="la")
    scale = size / EMOJI_STRIKE
    scaled = strike.resize((max(1, round(width * scale)), max(1, round(strike.height * scale))),
                           Image.Resampling.LANCZOS)
    # xy is one em above the baseline; the strike's glyph box starts a little above it.
    image.alpha_composite(scaled, (round(xy[0]), max(0, round(xy[1]))))
    return scaled.width
