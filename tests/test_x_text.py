"""twitter-text v3 weighted length and truncation (bot.adapters.x_text)."""

from __future__ import annotations

import pytest

from bot.adapters.x_text import ELLIPSIS, MAX_WEIGHTED_LENGTH, fit_to_limit, weighted_length

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # man woman girl boy
URL = "https://klout.example.com/u/alice?ref=bot&utm_source=x_reply_with_a_long_query"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        ("naïve café — “quoted”", 21),  # Latin-1, em dash and curly quotes weigh 1
        ("cafe\u0301", 4),  # NFC first: e + combining acute is one é
        ("Ελληνικά Русский עברית", 22),
        ("日本語", 6),
        ("한국어 text", 11),
        ("€ • …", 8),  # outside the weight-1 ranges: 2 each
        ("\U00020b9f", 2),  # astral CJK: one code point, weight 2
        ("x\r\ny", 3),  # CRLF counts as one newline
    ],
)
def test_character_weights(text: str, expected: int) -> None:
    assert weighted_length(text) == expected


@pytest.mark.parametrize(
    "emoji",
    [
        "\U0001f44d",  # thumbs up
        "\U0001f44d\U0001f3fd",  # with a skin tone
        FAMILY,  # ZWJ family sequence
        "\U0001f9d1\U0001f3fd\u200d\U0001f4bb",  # technologist, medium skin tone
        "\U0001f3f3\ufe0f\u200d\U0001f308",  # rainbow flag
        "1\ufe0f\u20e3",  # keycap
        "\U0001f1ec\U0001f1e7",  # flag: GB
        "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # Scotland
        "\u2764\ufe0f",  # red heart with VS16
        "\u00a9\ufe0f",
    ],
)
def test_each_emoji_sequence_weighs_two(emoji: str) -> None:
    assert weighted_length(emoji) == 2
    assert weighted_length(f"a{emoji}b") == 4


def test_urls_weigh_23_whatever_their_length() -> None:
    assert weighted_length(URL) == 23
    assert weighted_length("see https://a.co/x, then https://b.org/y.") == len("see , then .") + 46
    assert weighted_length("visit klout.example.com now") == len("visit  now") + 23
    assert weighted_length("(https://en.wikipedia.org/wiki/Klout_(company))") == 25
    assert weighted_length("mail bob@example.com") == len("mail bob@example.com")
    assert weighted_length("node.js and e.g. this") == 21  # not TLDs / too short


def test_exactly_280_boundary() -> None:
    assert weighted_length("a" * 280) == MAX_WEIGHTED_LENGTH
    assert weighted_length("日" * 140) == MAX_WEIGHTED_LENGTH
    assert weighted_length("a" * 256 + " " + URL) == 280
    assert fit_to_limit("a" * 280) == "a" * 280
    assert fit_to_limit("日" * 140) == "日" * 140
    cut = fit_to_limit("a" * 281)
    assert cut.endswith(ELLIPSIS) and weighted_length(cut) == 280


def test_fit_never_splits_an_emoji_url_or_combining_mark() -> None:
    family_text = "x" * 277 + FAMILY + "yy"
    cut = fit_to_limit(family_text)
    assert FAMILY not in cut and "\u200d" not in cut and weighted_length(cut) <= 280

    url_text = "b" * 260 + " " + URL + " tail"
    cut = fit_to_limit(url_text)
    assert "https" not in cut and weighted_length(cut) <= 280

    accents = "e\u0301" * 300  # NFC makes each é one code point
    cut = fit_to_limit(accents)
    assert cut == "é" * 278 + ELLIPSIS


def test_fit_prefers_a_word_boundary_near_the_end() -> None:
    words = " ".join(["influence"] * 40)
    cut = fit_to_limit(words)
    assert cut.endswith("influence" + ELLIPSIS)
    assert weighted_length(cut) <= 280 and len(cut) > 250
    assert fit_to_limit("short enough") == "short enough"
    with pytest.raises(ValueError, match="no room"):
        fit_to_limit("abc", limit=1)
    assert fit_to_limit("日本語テキスト", limit=6) == "日本" + ELLIPSIS
