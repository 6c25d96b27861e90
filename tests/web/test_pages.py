"""The web leaderboard over HTTP with a real aiohttp client: what it serves, to whom,
and what it never shows."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
from multidict import CIMultiDict

from bot.config import WebSection
from tests.web.helpers import BOLD, SCRIPT, web_bot


async def get(url: str) -> tuple[int, CIMultiDict[str], bytes]:
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        return r.status, r.headers.copy(), await r.read()


async def test_admin_turns_it_on_and_the_board_is_served(tmp_path: Path) -> None:
    async with web_bot(tmp_path / "w.db", enable=False) as wb:
        out = await wb.bot.say("/kloutadmin web on")
        url = re.search(r"(http://\S+/c/(\S+)/)", out)
        assert url is not None, out
        status, headers, body = await get(url.group(1))
        assert status == 200
        html = body.decode()
        assert "26 members scored" in html and "page 1 of 3" in html
        assert headers["Cache-Control"] == "no-cache" and headers["ETag"], headers
        # Turned off: the same address is a plain 404, like any address that never was.
        assert "off" in await wb.bot.say("/kloutadmin web off")
        status, _, body = await get(url.group(1))
        never, _, never_body = await get(f"{wb.base}/c/AAAAAAAAAAAA/")
        assert status == never == 404 and body == never_body
        # On again: the same address as before.
        out = await wb.bot.say("/kloutadmin web on")
        assert url.group(1) in out


async def test_names_with_markup_are_text_and_pages_link_members(tmp_path: Path) -> None:
    async with web_bot(tmp_path / "w.db") as wb:
        _, _, body = await get(wb.board_url)
        html = body.decode()
        assert "<script>" not in html and "<b>x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;x&lt;/b&gt;" in html
        links = re.findall(rf'href="(/c/{wb.slug}/m/[\w-]+)"', html)
        assert len(links) == 10
        status, _, member = await get(wb.base + links[0])
        assert status == 200 and b'id="card"' in member and b"Why:" in member
        status, headers, png = await get(wb.base + links[0] + "/card.png")
        assert status == 200 and headers["Content-Type"] == "image/png"
        assert png.startswith(b"\x89PNG")


async def test_json_api(tmp_path: Path) -> None:
    async with web_bot(tmp_path / "w.db") as wb, aiohttp.ClientSession() as s:
        async with s.get(f"{wb.base}/api/c/{wb.slug}/board?page=2") as r:
            board = await r.json()
        assert board["page"] == 2 and board["pages"] == 3 and board["members"] == 26
        assert [line["rank"] for line in board["board"]] == list(range(11, 21))
        first = board["board"][0]
        assert set(first) == {"rank", "name", "score", "tier", "change_week", "member",
                              "url"}
        async with s.get(wb.base + "/api" + first["url"]) as r:
            member = await r.json()
        assert member["name"] == first["name"] and member["score"] == first["score"]
        assert member["rank"] == 11 and member["why"].startswith("Why:")
        assert len(member["trend"]) >= 1 and member["card"].endswith("/card.png")
        # No platform ids: a member is known by a random token only.
        assert "m0" not in str(board) and "external" not in str(member)
        async with s.get(f"{wb.base}/api/model") as r:
            model = await r.json()
        assert model["weights"]["reply"] == 3.0 and model["tiers"][0]["min"] == 1


async def test_opted_out_and_forgotten_members_vanish_at_once(tmp_path: Path) -> None:
    async with web_bot(tmp_path / "w.db") as wb:
        async def everyone() -> dict[str, str]:
            names = {}
            for page in (1, 2, 3):
                async with aiohttp.ClientSession() as s, s.get(
                        f"{wb.base}/api/c/{wb.slug}/board?page={page}") as r:
                    for line in (await r.json())["board"]:
                        names[line["name"]] = line["url"]
            return names

        before = await everyone()
        assert SCRIPT in before and BOLD in before and "member03" in before
        card = wb.base + before["member03"] + "/card.png"
        assert (await get(card))[0] == 200
        await wb.bot.say("/privacy optout", as_="m03")
        after = await everyone()
        assert "member03" not in after and len(after) == 25
        assert (await get(wb.base + before["member03"]))[0] == 404
        assert (await get(card))[0] == 404
        assert (await get(wb.base + "/api" + before["member03"]))[0] == 404
        # Forget: the card kept in the render cache goes with the person.
        forget = wb.base + before[BOLD]
        assert (await get(forget + "/card.png"))[0] == 200
        preview = await wb.bot.say("/privacy forget", as_="bold")
        code = re.search(r"confirm ([A-Z0-9]{6})", preview)
        assert code is not None, preview
        assert "Deleted" in await wb.bot.say(f"/privacy forget confirm {code.group(1)}",
                                             as_="bold")
        assert (await get(forget))[0] == 404 and (await get(forget + "/card.png"))[0] == 404
        assert BOLD not in await everyone()
        assert len(wb.app.images._cache) == 0


async def test_read_only_rate_limited_and_cacheable(tmp_path: Path) -> None:
    web = WebSection(enabled=True, port=0, page_size=10, rate_limit_burst=3,
                     rate_limit_per_minute=6)
    async with web_bot(tmp_path / "w.db", web=web) as wb:
        async with aiohttp.ClientSession() as s:
            async with s.post(wb.board_url, data=b"x") as r:
                assert r.status == 405 and r.headers["Allow"] == "GET, HEAD"
            async with s.head(wb.board_url) as r:
                assert r.status == 200
                etag = r.headers["ETag"]
            async with s.get(wb.board_url, headers={"If-None-Match": etag}) as r:
                assert r.status == 304 and await r.read() == b""
            async with s.get(wb.board_url) as r:
                assert r.status == 429 and r.headers["Retry-After"] == "10"
        assert "Content-Security-Policy" in r.headers
