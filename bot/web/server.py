"""The web leaderboard's HTTP server: aiohttp on the bot's own event loop.

    async with WebServer(app, config.web) as web:
        print(web.url)

Read-only (GET and HEAD; anything else is 405), rate limited per client address (429
with Retry-After), and every page and API answer carries an ETag with
`Cache-Control: no-cache`: browsers and proxies keep a copy but ask again each time
(a 304 costs a few bytes), so an opt-out or a forget is never served from a cache.
A community that is not on the web, a member who is not on its board and a path that
does not exist all get the same 404, so nothing tells which servers use the bot.
Access logs are off: they would store every visitor's address.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import jinja2
import orjson
from aiohttp import web

from bot.config import WebSection
from bot.render import TEMPLATE_DIR, escape_name, signed
from bot.web.limits import RateLimiter
from bot.web.views import WebBoard, WebMember, WebViews
from scoring import MODEL_VERSION

if TYPE_CHECKING:
    from bot.app import KloutApp

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
READ_ONLY = ("GET", "HEAD")
NO_CACHE = "no-cache"
STATIC_CACHE = "public, max-age=3600"
HEADERS = {
    # No scripts at all, styles and images only from here; never framed.
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    # A community's address is its only secret: never sent on to another site.
    "Referrer-Policy": "no-referrer",
}
API_HEADERS = {**HEADERS, "Access-Control-Allow-Origin": "*"}


def web_templates() -> jinja2.Environment:
    """templates/web/: HTML, so autoescape is on; a name with markup stays text."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["name"] = lambda value: escape_name(str(value), "web")
    env.filters["signed"] = signed
    env.filters["pct"] = lambda x: f"{round(float(x) * 100)}%"
    return env


class WebSite:
    """The routes and what they answer (no sockets: WebServer binds them)."""

    def __init__(self, app: KloutApp, config: WebSection, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.config = config
        self.views = WebViews(app, config.page_size)
        self.limiter = RateLimiter(config.rate_limit_per_minute, config.rate_limit_burst)
        self.monotonic = monotonic
        self.env = web_templates()
        self._style = (TEMPLATE_DIR / "web" / "style.css").read_bytes()

    def application(self) -> web.Application:
        aio = web.Application(middlewares=[self._guard])
        get = aio.router.add_get  # HEAD too
        get("/", self.home)
        get("/model", self.model)
        get("/style.css", self.style)
        get("/c/{slug}/", self.board)
        get("/c/{slug}/m/{token}", self.member)
        get("/c/{slug}/m/{token}/card.png", self.card)
        get("/api/model", self.api_model)
        get("/api/c/{slug}/board", self.api_board)
        get("/api/c/{slug}/m/{token}", self.api_member)
        return aio

    # -- the guard every request passes ---------------------------------------
    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        wait = self.limiter.check(self._client(request), self.monotonic())
        if wait:
            return self._page("web/error.html.j2", {"status": 429}, status=429,
                              extra={"Retry-After": self.limiter.retry_after(wait)})
        if request.method not in READ_ONLY:
            return self._page("web/error.html.j2", {"status": 405}, status=405,
                              extra={"Allow": ", ".join(READ_ONLY)})
        try:
            return await handler(request)
        except web.HTTPNotFound:
            return self._not_found()
        except web.HTTPMethodNotAllowed:
            return self._page("web/error.html.j2", {"status": 405}, status=405,
                              extra={"Allow": ", ".join(READ_ONLY)})
        except Exception:
            log.exception("web page %s failed", request.path)
            return self._page("web/error.html.j2", {"status": 500}, status=500)

    def _client(self, request: web.Request) -> str:
        if self.config.trust_forwarded_for:
            forwarded = request.headers.get("X-Forwarded-For", "")
            last = forwarded.rsplit(",", 1)[-1].strip()
            if last:
                return last
        return request.remote or "?"

    # -- pages ---------------------------------------------------------------
    async def home(self, request: web.Request) -> web.StreamResponse:
        return self._page("web/home.html.j2", {}, request=request, cache=STATIC_CACHE)

    async def model(self, request: web.Request) -> web.StreamResponse:
        return self._page("web/model.html.j2", self._model_context(), request=request,
                          cache=STATIC_CACHE)

    async def style(self, request: web.Request) -> web.StreamResponse:
        return self._send(request, self._style, "text/css", STATIC_CACHE, HEADERS)

    async def board(self, request: web.Request) -> web.StreamResponse:
        board = await self._board(request)
        return self._page("web/board.html.j2", {"board": board}, request=request)

    async def member(self, request: web.Request) -> web.StreamResponse:
        member = await self._member(request)
        return self._page("web/member.html.j2", {"m": member, "card": member.card},
                          request=request)

    async def card(self, request: web.Request) -> web.StreamResponse:
        member = await self._member(request)
        png = await self.views.card_image(member)
        return self._send(request, png, "image/png", NO_CACHE, HEADERS)

    # -- the JSON API ----------------------------------------------------------
    async def api_model(self, request: web.Request) -> web.StreamResponse:
        ctx = self._model_context()
        data = {"model_version": ctx["version"], "half_life_days": ctx["half_life_days"],
                "window_days": ctx["window_days"], "weights": ctx["weights"],
                "tiers": [{"name": t.name, "min": t.min_score, "max": t.max_score}
                          for t in ctx["tiers"]]}
        return self._json(request, data, STATIC_CACHE)

    async def api_board(self, request: web.Request) -> web.StreamResponse:
        board = await self._board(request)
        slug = board.community.slug
        return self._json(request, {
            "community": board.community.name or "",
            "page": board.page, "pages": board.pages, "members": board.members,
            "period": "week",
            "board": [{"rank": line.rank, "name": escape_name(line.name, "web"),
                       "score": line.score, "tier": line.tier, "change_week": line.change,
                       "member": line.token, "url": f"/c/{slug}/m/{line.token}"}
                      for line in board.lines],
        }, NO_CACHE)

    async def api_member(self, request: web.Request) -> web.StreamResponse:
        m = await self._member(request)
        c = m.card
        base = f"/c/{m.community.slug}/m/{m.token}"
        return self._json(request, {
            "community": m.community.name or "", "name": escape_name(c.name, "web"),
            "score": c.score, "tier": c.tier, "rank": c.rank, "members": c.members,
            "change_week": c.change_week, "trend": list(c.trend), "why": m.why,
            "top_contributors": [{"name": escape_name(t.name, "web"), "share": t.share}
                                 for t in c.top_contributors[:3]],
            "model_version": c.model_version, "url": base, "card": f"{base}/card.png",
        }, NO_CACHE)

    # -- shared ---------------------------------------------------------------
    async def _board(self, request: web.Request) -> WebBoard:
        community = await self.views.community(request.match_info["slug"])
        page = request.query.get("page", "1")
        if community is None or not (page.isascii() and page.isdigit() and len(page) < 7):
            raise web.HTTPNotFound
        board = await self.views.board(community, int(page), self.app.clock.now())
        if board is None:
            raise web.HTTPNotFound
        return board

    async def _member(self, request: web.Request) -> WebMember:
        community = await self.views.community(request.match_info["slug"])
        if community is None:
            raise web.HTTPNotFound
        member = await self.views.member(community, request.match_info["token"],
                                         self.app.clock.now())
        if member is None:
            raise web.HTTPNotFound
        return member

    def _model_context(self) -> dict[str, Any]:
        model = self.app.config.scoring.model
        return {"version": MODEL_VERSION,
                "half_life_days": model.half_life_days, "window_days": model.window_days,
                "weights": {kind.name.lower(): w for kind, w in model.weights.items()},
                "tiers": sorted(model.tiers, key=lambda t: t.min_score)}

    def _not_found(self) -> web.Response:
        return self._page("web/error.html.j2", {"status": 404}, status=404)

    def _page(self, template: str, context: dict[str, Any], *,
              request: web.Request | None = None, status: int = 200,
              cache: str = NO_CACHE, extra: dict[str, str] | None = None) -> web.Response:
        html = self.env.get_template(template).render(
            bot_name=self.app.config.bot.name, **context).encode()
        headers = {**HEADERS, **(extra or {})}
        if request is None or status != 200:
            headers["Cache-Control"] = "no-store"
            return web.Response(body=html, status=status, headers=headers,
                                content_type="text/html", charset="utf-8")
        return self._send(request, html, "text/html; charset=utf-8", cache, headers)

    def _json(self, request: web.Request, data: object, cache: str) -> web.Response:
        return self._send(request, orjson.dumps(data), "application/json", cache, API_HEADERS)

    @staticmethod
    def _send(request: web.Request, body: bytes, content_type: str, cache: str,
              headers: dict[str, str]) -> web.Response:
        etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
        out = {**headers, "Cache-Control": cache, "ETag": etag, "Content-Type": content_type}
        if etag in request.headers.get("If-None-Match", ""):
            out.pop("Content-Type")
            return web.Response(status=304, headers=out)
        return web.Response(body=body, headers=out)


class WebServer:
    """Serves a WebSite on [web] host:port for as long as the `async with` lasts."""

    def __init__(self, app: KloutApp, config: WebSection, **site: Any) -> None:
        self.app = app
        self.config = config
        self.site = WebSite(app, config, **site)
        self._runner: web.AppRunner | None = None
        self.port = config.port

    async def __aenter__(self) -> WebServer:
        runner = web.AppRunner(self.site.application(), access_log=None,
                               handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.config.host, self.config.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        # Port 0 asks the system for a free one (tests, the bench): read which it gave.
        for address in runner.addresses:
            if isinstance(address, tuple) and len(address) >= 2:
                self.port = int(address[1])
                break
        if not self.config.base_url:
            # /kloutadmin web on answers with the address really bound (port 0 too).
            self.app.settings.web_base_url = self.url
        log.info("web leaderboard on %s", self.url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    @property
    def url(self) -> str:
        host = self.config.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}"
