"""Shared helpers for the fault tests: raw looks at every file of a database, and
configs that make a lock show quickly."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bot.config import Config, StorageSection

SUFFIXES = ("", "-wal", "-shm", "-journal")


def files_holding(db: Path, needle: bytes) -> list[str]:
    """Which of the database's files (.db, -wal, -shm, -journal) contain `needle`."""
    found = []
    for suffix in SUFFIXES:
        path = Path(str(db) + suffix)
        if path.exists() and needle.lower() in path.read_bytes().lower():
            found.append(path.name)
    return found


def quick_lock_config(busy_timeout_s: float = 0.2) -> Config:
    """Defaults, but a lock held by someone else shows after `busy_timeout_s`."""
    return replace(Config(), storage=replace(StorageSection(), busy_timeout_s=busy_timeout_s))


def folder_files_holding(folder: Path, needle: bytes) -> list[str]:
    """Every file in `folder` whose bytes contain `needle` (case-insensitive)."""
    return sorted(p.name for p in folder.iterdir()
                  if p.is_file() and needle.lower() in p.read_bytes().lower())
