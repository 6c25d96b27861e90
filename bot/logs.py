"""Logging setup. Secrets from the environment are scrubbed from every record."""

from __future__ import annotations

import logging
import os
import sys

SECRET_ENV = ("DISCORD_TOKEN", "X_BEARER_TOKEN", "X_API_KEY", "X_API_SECRET",
              "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET")


class RedactSecrets(logging.Filter):
    """Replaces any known secret value in a log message (and its args) with '***'."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self.secrets = [s for s in (secrets or []) if len(s) >= 6]

    def add(self, secret: str) -> None:
        if len(secret) >= 6 and secret not in self.secrets:
            self.secrets.append(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        text = record.exc_text or ""
        for secret in self.secrets:
            message = message.replace(secret, "***")
            text = text.replace(secret, "***")
        record.msg, record.args = message, None
        if record.exc_text:
            record.exc_text = text
        return True


REDACTOR = RedactSecrets()


def setup_logging(level: str = "INFO", stream: object = None) -> None:
    for name in SECRET_ENV:
        value = os.environ.get(name)
        if value:
            REDACTOR.add(value)
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(REDACTOR)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # discord.py and aiohttp are chatty at INFO; their warnings still come through.
    # aiosqlite logs every statement WITH its bound parameters at DEBUG (display names,
    # ids), tweepy every request's Authorization header and body (a reply carrying a
    # confirmation code), oauthlib the consumer key and access token it signs with:
    # never let that reach a log.
    for noisy in ("discord", "aiohttp", "apscheduler", "aiosqlite", "tweepy", "oauthlib"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
