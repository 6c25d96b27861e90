"""Point discord.py at a different REST API and gateway (an HTTP proxy, a relay, or a test fake).

discord.py 2.x hard-codes Discord's hosts in two class attributes, and every URL it opens is
derived from one of them:

* ``discord.http.Route.BASE`` (``https://discord.com/api/v10``) prefixes every REST route. The
  webhook adapters (``discord/webhook/async_.py`` and ``sync.py``) import ``Route`` from
  ``discord.http`` and have no base of their own, so interaction callbacks
  (``/interactions/{id}/{token}/callback``), ``@original`` edits and follow-ups go there too.
* ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` (``wss://gateway.discord.gg/``) is where
  a plain ``Client``/``Bot`` opens its first gateway connection and every fresh IDENTIFY after an
  INVALID_SESSION. ``AutoShardedClient`` without ``shard_count`` asks ``GET /gateway/bot`` instead,
  which goes through ``Route.BASE``, so the server behind ``api_base`` decides.

Things this seam does not (and cannot) change, worth knowing:

* Resumes do not use ``DEFAULT_GATEWAY``. ``DiscordWebSocket.received_message`` stores READY's
  ``resume_gateway_url`` in ``ws.gateway`` and ``Client.connect`` reconnects there on RESUME. A
  test fake returns its own URL in that field, so resumes reach the fake; a production proxy must
  rewrite ``resume_gateway_url`` in READY or resumes bypass it.
* ``discord.http._set_api_version()`` overwrites ``Route.BASE``; call :func:`apply_endpoints`
  after it.
* Display-only URLs (``Message.jump_url``, ``Webhook.url``, CDN assets) keep Discord's hosts.

Both attributes are process-global: apply once at start-up (or per test, restoring the previous
pair from :func:`current_endpoints` afterwards).
"""

from __future__ import annotations

import discord.gateway
import discord.http
import yarl

DISCORD_API_BASE = "https://discord.com/api/v10"
DISCORD_GATEWAY = "wss://gateway.discord.gg/"


def apply_endpoints(api_base: str, gateway_url: str) -> None:
    """Send all REST calls to ``api_base`` and open gateway connections at ``gateway_url``.

    ``api_base`` is the full versioned prefix, e.g. ``http://127.0.0.1:8080/api/v10``;
    ``gateway_url`` is a ``ws://`` or ``wss://`` URL; discord.py replaces its query with
    ``?v=10&encoding=json&compress=...``.
    """
    base = yarl.URL(api_base)
    gateway = yarl.URL(gateway_url)
    if base.scheme not in ("http", "https") or not base.host:
        raise ValueError(f"api_base must be an absolute http(s) URL, got {api_base!r}")
    if gateway.scheme not in ("ws", "wss") or not gateway.host:
        raise ValueError(f"gateway_url must be an absolute ws(s) URL, got {gateway_url!r}")
    discord.http.Route.BASE = api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway


def current_endpoints() -> tuple[str, str]:
    """Return the ``(api_base, gateway_url)`` discord.py currently uses."""
    return discord.http.Route.BASE, str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)


def reset_endpoints() -> None:
    """Restore Discord's real endpoints."""
    apply_endpoints(DISCORD_API_BASE, DISCORD_GATEWAY)
