"""Storage failures phrased for operators, with the cause kept."""

from __future__ import annotations

import sqlite3


class StorageError(Exception):
    """The database cannot serve a request. `reason` is a short stable key."""

    reply_template = "errors/storage"

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(detail)


def classify(exc: BaseException, path: str) -> StorageError:
    """Turn a sqlite3 error into a StorageError that names the file and the cause."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return StorageError("locked", f"database {path} is locked by another process ({exc})")
    if "readonly" in text or "read-only" in text or "attempt to write" in text:
        return StorageError("readonly", f"database {path} is read-only ({exc})")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return damaged(path, str(exc))
    if "unable to open" in text:
        return StorageError("unopenable", f"cannot open database {path} ({exc})")
    if "disk" in text and "full" in text:
        return StorageError("full", f"disk full while writing {path} ({exc})")
    if isinstance(exc, sqlite3.Error):
        return StorageError("sqlite", f"database {path}: {exc}")
    return StorageError("unknown", f"database {path}: {exc!r}")


def damaged(path: str, found: str) -> StorageError:
    """A database file whose pages are broken, with what to do about it."""
    return StorageError(
        "corrupt",
        f"{path} is damaged, not a valid klout-bot database ({found[:300]}); klout-bot "
        f"will not use it. Stop every process "
        f"using it and keep a copy, then restore your last backup, or salvage what is left "
        f"with `sqlite3 {path} .recover | sqlite3 {path}.recovered` and start with "
        f"--db {path}.recovered (docs/operations.md, \"A damaged database\")")
