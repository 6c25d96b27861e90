"""Make the fonts bundled in bot/cards/fonts/ from the Noto fonts of a Debian machine.

    apt-get install fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji
    .venv/bin/python -m bot.cards.subset_fonts

Each font is cut down to the characters a display name is likely to use, so the repo
carries about 9 MB instead of 70 (docs/cards.md lists what is covered). All are under
the SIL Open Font License 1.1 (bot/cards/fonts/OFL.txt).
"""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

OUT = Path(__file__).resolve().parent / "fonts"
NOTO = Path("/usr/share/fonts/truetype/noto")
CJK = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def span(first: int, last: int) -> set[int]:
    return set(range(first, last + 1))


# Latin (with Extended-A/B, IPA, combining marks), Greek, Cyrillic (+ supplement),
# Latin Extended Additional, Greek Extended, punctuation, currency, arrows, shapes.
LATIN = (span(0x20, 0x24F) | span(0x250, 0x2FF) | span(0x300, 0x36F) | span(0x370, 0x3FF)
         | span(0x400, 0x52F) | span(0x1E00, 0x1FFF) | span(0x2000, 0x20CF)
         | span(0x2100, 0x21FF) | span(0x2190, 0x21FF) | span(0x25A0, 0x25FF))
# Space, digits and punctuation too, so a name of several Arabic words is one run.
ARABIC = (span(0x20, 0x40) | span(0x600, 0x6FF) | span(0x750, 0x77F) | span(0xFB50, 0xFDFF)
          | span(0xFE70, 0xFEFF))


def common_cjk() -> set[int]:
    """Kana, the 6,763 ideographs of GB 2312, the 2,965 of JIS X 0208 level 1, the
    2,350 Hangul syllables of KS X 1001, CJK punctuation and full-width forms."""
    found = span(0x3000, 0x303F) | span(0x3040, 0x30FF) | span(0x31F0, 0x31FF) \
        | span(0xFF00, 0xFFEF) | span(0x1100, 0x11FF) | span(0x3130, 0x318F)
    for cp in range(0x4E00, 0xA000):
        ch = chr(cp)
        if _in_gb2312(ch) or _in_jis_level1(ch):
            found.add(cp)
    for cp in range(0xAC00, 0xD7A4):
        try:
            chr(cp).encode("euc_kr")
            found.add(cp)
        except UnicodeEncodeError:
            pass
    return found


def _encoded(ch: str, codec: str) -> bytes | None:
    try:
        return ch.encode(codec)
    except UnicodeEncodeError:
        return None


def _in_gb2312(ch: str) -> bool:
    raw = _encoded(ch, "gb2312")
    return raw is not None and raw[0] >= 0xB0  # rows 16-87: the hanzi


def _in_jis_level1(ch: str) -> bool:
    raw = _encoded(ch, "shift_jis")
    return raw is not None and b"\x88\x9f" <= raw <= b"\x98\x72"  # level 1 kanji


def single_emoji(font: TTFont) -> set[int]:
    """Every emoji the font draws as one code point (sequences, flags and skin tones
    fall back to their parts)."""
    return {cp for cp in font.getBestCmap() if cp > 0x2000
            and unicodedata.category(chr(cp)) == "So"}


def cut(source: Path | TTFont, keep: set[int], out: str, *, drop_layout: bool = False) -> None:
    font = source if isinstance(source, TTFont) else TTFont(source)
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    if drop_layout:
        options.layout_features = []
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(keep & set(font.getBestCmap())))
    subsetter.subset(font)
    # Keep the source's timestamp: the same Debian fonts give the same bytes, so
    # remaking them changes nothing in git.
    font.recalcTimestamp = False
    font.save(OUT / out)
    print(f"{out}: {(OUT / out).stat().st_size / 1e6:.2f} MB")  # noqa: T201


def main() -> int:
    if not NOTO.is_dir() or not CJK.is_file():
        print("install fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji first")  # noqa: T201
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    cut(NOTO / "NotoSans-Regular.ttf", LATIN, "NotoSans-Regular.ttf")
    cut(NOTO / "NotoSans-Bold.ttf", LATIN, "NotoSans-Bold.ttf")
    cut(NOTO / "NotoSansArabic-Regular.ttf", ARABIC, "NotoSansArabic-Regular.ttf")
    cut(TTCollection(CJK).fonts[0], common_cjk(), "NotoSansCJK-Common.otf")
    emoji = TTFont(NOTO / "NotoColorEmoji.ttf")
    cut(emoji, single_emoji(emoji), "NotoColorEmoji-Single.ttf", drop_layout=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
