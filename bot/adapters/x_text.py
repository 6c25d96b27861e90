"""Weighted post length as X counts it (twitter-text config v3), and truncation to fit.

X rejects a post whose *weighted* length exceeds 280. twitter-text v3 weighs, after NFC
normalisation and CRLF -> LF:

* code points in U+0000-U+10FF, U+2000-U+200D, U+2010-U+201F, U+2032-U+2037: 1 each
  (Latin, Greek, Cyrillic, Hebrew, Arabic, Devanagari, Thai, general punctuation ...);
* every other code point: 2 (CJK, Hangul, "…", "€", "•", astral characters ...);
* every URL: 23, whatever its length (it is wrapped in t.co);
* every emoji, including skin-tone, keycap, flag, tag and ZWJ sequences: 2 as a whole.

Why our own ~100 lines instead of the PyPI port ``twitter-text-parser`` (3.0.0, May 2023):
that port imports ``pkg_resources`` at import time (a DeprecationWarning, which our
``filterwarnings = error`` turns into a failure, and gone from recent setuptools) and ships
an Emoji 12.0 (2019) table, so newer emoji sequences are miscounted. We used it only as a
reference to cross-check the rules above.

Known approximations, all rare in bot-written text:

* ZWJ sequences count 2 even when they are not in Unicode's recommended (RGI) list, where
  twitter-text would count the parts separately;
* a URL whose host has no valid TLD (``https://a.b/``) still counts 23 here;
* a bare domain without ``http(s)://`` counts as a URL only for ccTLDs and a list of common
  gTLDs (twitter-text knows ~1,500 gTLDs); URLs with a scheme are always recognised.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

MAX_WEIGHTED_LENGTH = 280
URL_WEIGHT = 23
EMOJI_WEIGHT = 2
ELLIPSIS = "\u2026"

_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_CCTLDS = _words(
    """ac ad ae af ag ai al am an ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm
    bn bo bq br bs bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de
    dj dk dm do dz ec ee eg eh er es et eu fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn
    gp gq gr gs gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg
    kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm
    mn mo mp mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg
    ph pk pl pm pn pr ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sj sk sl sm sn so
    sr ss st su sv sx sy sz tc td tf tg th tj tk tl tm tn to tp tr tt tv tw tz ua ug uk um us
    uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw"""
)
_GTLDS = _words(
    """com net org edu gov mil int info biz name pro mobi asia tel travel jobs museum aero
    coop cat app dev page blog news shop store online site website tech xyz club live life
    world today space link click social media art design studio agency digital network
    email cloud host xxx top icu vip win bot run wiki guru fun lol chat game games
    zone one pub group team works tools software systems solutions center company"""
)

_SCHEME_URL = r"https?://[^\s<>\"]+"
_BARE_DOMAIN = (
    r"(?<![._/\-])(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}"
    r"(?![A-Za-z0-9\-])(?:[/?#][^\s<>\"]*)?"
)
_URL_CANDIDATE = re.compile(
    rf"(?<![A-Za-z0-9@$#\uff20\uff03\u202a-\u202e])(?:(?i:{_SCHEME_URL})|{_BARE_DOMAIN})"
)
_URL_TRAILING_PUNCT = ".,:;!?'\"*"

# Emoji bases outside the weight-1 ranges (weighing 2 anyway on their own). (c) and (r)
# sit in the weight-1 range; twitter-text's Unicode table lists them unqualified too, so
# they count 2 with or without VS16 (over- rather than under-counting is the safe side).
_PICTO = (
    "\u203c\u2049\u2122\u2139\u2194-\u2199\u21a9\u21aa\u231a\u231b\u2328\u23cf\u23e9-\u23f3"
    "\u23f8-\u23fa\u24c2\u25aa\u25ab\u25b6\u25c0\u25fb-\u25fe\u2600-\u27bf\u2934\u2935"
    "\u2b05-\u2b07\u2b1b\u2b1c\u2b50\u2b55\u3030\u303d\u3297\u3299\U0001f000-\U0001faff"
)
_ELEMENT = f"(?:[\u00a9\u00ae]\ufe0f?|[{_PICTO}][\U0001f3fb-\U0001f3ff]?[\ufe0e\ufe0f]?)"
_EMOJI = re.compile(
    "[0-9#*]\ufe0f?\u20e3"  # keycap
    "|[\U0001f1e6-\U0001f1ff]{2}"  # flag: two regional indicators
    "|\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f"  # subdivision flag (tag sequence)
    f"|{_ELEMENT}(?:\u200d{_ELEMENT})*"  # single emoji or ZWJ sequence
)


def _normalise(text: str) -> str:
    return re.sub(r"\r\n?", "\n", unicodedata.normalize("NFC", text))


def _code_point_weight(ch: str) -> int:
    cp = ord(ch)
    return 1 if any(lo <= cp <= hi for lo, hi in _LIGHT_RANGES) else 2


def _is_url(url: str) -> bool:
    if "://" in url:
        host = url.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0].split(":", 1)[0]
        return "." in host.strip(".")
    host = re.split(r"[/?#]", url, maxsplit=1)[0]
    tld = host.rsplit(".", 1)[-1].lower()
    return tld in _CCTLDS or tld in _GTLDS


def _url_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for match in _URL_CANDIDATE.finditer(text):
        start, end = match.span()
        url = match.group()
        while url and (
            url[-1] in _URL_TRAILING_PUNCT or (url[-1] == ")" and url.count("(") < url.count(")"))
        ):
            url, end = url[:-1], end - 1
        if _is_url(url):
            spans.append((start, end))
    return spans


def _clusters(text: str) -> Iterator[tuple[str, int]]:
    """Yield (cluster, weight): URLs, emoji sequences, and base characters with their marks.

    ``text`` must already be normalised. Clusters are the units ``fit_to_limit`` never splits.
    """
    pos = 0
    for start, end in [*_url_spans(text), (len(text), len(text))]:
        while pos < start:
            emoji = _EMOJI.match(text, pos, start)
            if emoji:
                yield emoji.group(), EMOJI_WEIGHT
                pos = emoji.end()
                continue
            stop = pos + 1
            while stop < start and (
                unicodedata.combining(text[stop]) or unicodedata.category(text[stop]) == "Me"
            ):
                stop += 1
            yield text[pos:stop], sum(_code_point_weight(ch) for ch in text[pos:stop])
            pos = stop
        if start < end:
            yield text[start:end], URL_WEIGHT
        pos = end


def weighted_length(text: str) -> int:
    """Return the twitter-text v3 weighted length of ``text`` (what X compares with 280)."""
    return sum(weight for _, weight in _clusters(_normalise(text)))


def fit_to_limit(text: str, limit: int = MAX_WEIGHTED_LENGTH) -> str:
    """Return ``text`` if it fits in ``limit``, else a truncation ending in an ellipsis.

    The cut never splits a URL, an emoji sequence or a character from its combining marks;
    it backs up to the last space when that loses at most a quarter of the budget. The
    result is NFC-normalised when truncated and always has ``weighted_length <= limit``.
    """
    if weighted_length(text) <= limit:
        return text
    budget = limit - _code_point_weight(ELLIPSIS)
    if budget < 0:
        raise ValueError(f"limit {limit} leaves no room for an ellipsis")
    kept: list[str] = []
    used = 0
    last_space = -1
    for cluster, weight in _clusters(_normalise(text)):
        if used + weight > budget:
            break
        if cluster.isspace() and used >= budget * 3 // 4:
            last_space = len(kept)
        kept.append(cluster)
        used += weight
    if last_space >= 0:
        kept = kept[:last_space]
    return "".join(kept).rstrip() + ELLIPSIS
