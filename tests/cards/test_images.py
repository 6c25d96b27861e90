"""The card images: every script draws with a real glyph, the drawings match the
committed references within a tolerance, and the words come from the templates."""

from __future__ import annotations

import io
import unicodedata

import pytest
from fontTools.ttLib import TTFont
from PIL import Image, ImageChops, ImageStat

from bot.cards.draw import CARD_SIZE, render_card
from bot.cards.fonts import BOLD, FONT_DIR, MISSING, REGULAR, font_for, runs
from bot.cards.labels import board_spec, card_spec
from bot.render import Renderer
from commands.ports import BoardLine, BoardPage, Contributor, ScoreCard
from tests.cards.references import NAMES, REFERENCE_DIR, card, images

# Mean absolute difference per channel (0..255) allowed against a reference: FreeType
# or Pillow versions move antialiased edges by a level or two, a layout change moves
# whole glyphs (tens).
TOLERANCE = 2.0


def _glyph_names(font_file: str) -> dict[int, str]:
    font = TTFont(FONT_DIR / font_file, lazy=True)
    try:
        return dict(font.getBestCmap())
    finally:
        font.close()


@pytest.mark.parametrize("script", sorted(NAMES))
def test_names_in_every_script_draw_with_real_glyphs(script: str) -> None:
    name = NAMES[script]
    for chain in (REGULAR, BOLD):
        for font_file, text in runs(name, chain):
            assert MISSING not in text, (script, text)
            cmap = _glyph_names(font_file)
            for ch in text:
                if ch.isspace() or unicodedata.category(ch) in ("Mn", "Cf"):
                    continue
                assert cmap.get(ord(ch), ".notdef") != ".notdef", (script, ch, font_file)


def test_scripts_go_to_the_font_made_for_them() -> None:
    assert font_for("Ж", REGULAR) == "NotoSans-Regular.ttf"
    assert font_for("Ω", REGULAR) == "NotoSans-Regular.ttf"
    assert font_for("م", REGULAR) == "NotoSansArabic-Regular.ttf"
    assert font_for("山", REGULAR) == "NotoSansCJK-Common.otf"
    assert font_for("김", REGULAR) == "NotoSansCJK-Common.otf"
    assert font_for("🐙", REGULAR) == "NotoColorEmoji-Single.ttf"
    # Nothing has it (a private-use code point): a plain "?" rather than a box.
    assert runs("a\ue000b") == [("NotoSans-Regular.ttf", "a?b")]


def test_emoji_sequences_draw_their_parts_without_boxes() -> None:
    drawn = runs("👍🏽 👨\u200d👩\u200d👧 ❤️")
    assert MISSING not in "".join(t for _, t in drawn)
    cmap = _glyph_names("NotoColorEmoji-Single.ttf")
    for font_file, text in drawn:
        if font_file == "NotoColorEmoji-Single.ttf":
            assert all(cmap.get(ord(ch), ".notdef") != ".notdef" for ch in text), text


def test_arabic_stays_one_run_so_it_is_shaped_as_words() -> None:
    assert runs(NAMES["arabic"]) == [("NotoSansArabic-Regular.ttf", NAMES["arabic"])]


@pytest.mark.parametrize("name", ["card_scripts.png", "card_avatar.png", "board.png"])
def test_images_match_their_references(name: str) -> None:
    drawn = Image.open(io.BytesIO(images()[name])).convert("RGB")
    reference = Image.open(REFERENCE_DIR / name).convert("RGB")
    assert drawn.size == reference.size
    diff = ImageStat.Stat(ImageChops.difference(drawn, reference)).mean
    assert max(diff) < TOLERANCE, (
        f"{name} differs from its reference by {diff}; if the change is deliberate, "
        "regenerate with `.venv/bin/python -m tests.cards.references`")


def test_a_different_card_is_told_apart_from_its_reference() -> None:
    """The tolerance is tight enough to catch a changed score."""
    changed = render_card(card("Ната Αλέξ 山田 محمد 🔥", None).__class__(
        **{**_fields(card("Ната Αλέξ 山田 محمد 🔥", None)), "score": "12"}))
    drawn = Image.open(io.BytesIO(changed)).convert("RGB")
    reference = Image.open(REFERENCE_DIR / "card_scripts.png").convert("RGB")
    diff = ImageStat.Stat(ImageChops.difference(drawn, reference)).mean
    assert max(diff) > TOLERANCE / 4
    assert ImageChops.difference(drawn, reference).getbbox() is not None


def _fields(spec: object) -> dict[str, object]:
    return {k: getattr(spec, k) for k in spec.__slots__}  # type: ignore[attr-defined]


def test_an_unreadable_avatar_draws_the_initial() -> None:
    png = render_card(card("Zoë", b"not an image"))
    assert Image.open(io.BytesIO(png)).size == CARD_SIZE
    assert png == render_card(card("Zoë", None))


def test_words_on_the_card_come_from_the_templates() -> None:
    scored = ScoreCard("scored", "Zoë *star*", score=42, tier="regular", change_week=-3,
                       rank=2, members=9, summary_key="replies", trend=(1, 2, 3, 40, 42),
                       top_contributors=(Contributor("Bob", 0.5), Contributor("Cy", 0.25)),
                       model_version="3")
    spec = card_spec(Renderer(), {"card": scored, "asking_self": True, "bot_name": "K"}, None)
    assert spec.name == "Zoë *star*"  # no Discord markdown escapes on an image
    assert (spec.score, spec.change, spec.change_sign) == ("42", "-3 this week", -1)
    assert spec.tier_line == "Tier: regular · rank #2 of 9"
    assert spec.why == "Why: people reply to you a lot."
    assert spec.trend == (1, 2, 3, 40, 42) and spec.trend_label == "Last 5 weeks"
    assert spec.contributors == ("Bob (50%)", "Cy (25%)")
    assert spec.footer.startswith("Score model 3")

    page = BoardPage((BoardLine(1, "Ann", 50, "guru", 4), BoardLine(2, "Ben", 40, "guru", None)),
                     1, 3, 25, "week")
    board = board_spec(Renderer(), page, "My server")
    assert board.title == "Leaderboard, this week · My server"
    assert board.footer == "Page 1 of 3 · 25 members"
    assert [(r.rank, r.name, r.change, r.change_sign) for r in board.rows] == [
        ("1", "Ann", "+4", 1), ("2", "Ben", "new", 0)]
