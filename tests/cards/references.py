"""The images the screenshot test compares against, and how to make them again.

After a deliberate change to the look of the cards, regenerate and commit:

    .venv/bin/python -m tests.cards.references

then look at the PNGs in tests/cards/reference/ before committing them.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from bot.cards.draw import BoardRow, BoardSpec, CardSpec, render_board, render_card

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
# One name per script the cards promise to draw (docs/cards.md).
NAMES = {
    "latin": "Zoë Ångström-Núñez",
    "cyrillic": "Наталья Соколова",
    "greek": "Αλέξανδρος Παπαδόπουλος",
    "cjk": "山田太郎 さくら 김민준",
    "arabic": "محمد العلي",
    "emoji": "Sam 🔥🎉🐙",
}


def avatar_png() -> bytes:
    """A gradient, so a scaled or shifted avatar shows in the diff."""
    picture = Image.linear_gradient("L").resize((128, 128)).convert("RGB")
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def card(name: str, avatar: bytes | None) -> CardSpec:
    return CardSpec(
        name=name, score="87", change="+5 this week", change_sign=1,
        tier_line="Tier: guru · rank #3 of 40", why="Why: people reply to you a lot.",
        trend_label="Last 8 weeks", trend=(40, 45, 52, 48, 60, 71, 82, 87),
        contributors_label="Driven most by",
        contributors=("Bob (40%)", "Сергей (20%)", "李雷 (10%)"),
        footer="Score model 3 · how scores work: /help", avatar=avatar)


def board() -> BoardSpec:
    rows = tuple(BoardRow(str(i + 1), name, str(90 - 7 * i), "guru" if i < 2 else "regular",
                          f"+{i}" if i % 2 else f"-{i}", 1 if i % 2 else -1)
                 for i, name in enumerate(NAMES.values()))
    return BoardSpec("Leaderboard, this week · Test server", rows, "Page 1 of 1 · 6 members")


def images() -> dict[str, bytes]:
    """Reference file name -> freshly drawn PNG."""
    return {
        "card_scripts.png": render_card(card("Ната Αλέξ 山田 محمد 🔥", None)),
        "card_avatar.png": render_card(card(NAMES["cjk"] + " " + NAMES["emoji"],
                                            avatar_png())),
        "board.png": render_board(board()),
    }


def main() -> None:
    REFERENCE_DIR.mkdir(exist_ok=True)
    for name, data in images().items():
        (REFERENCE_DIR / name).write_bytes(data)
        print(REFERENCE_DIR / name)


if __name__ == "__main__":
    main()
