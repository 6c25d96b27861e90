"""Shared helpers for the fault tests: raw looks at every file of a database, and
configs that make a lock show quickly."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

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


def run_quietly(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True,  # noqa: S603 - fixed
                          check=False)


@contextlib.contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A small tmpfs mounted at `folder` for the test's length (root only: CI and the
    dev machines run as root). Skips the test, saying why, where mounting is refused."""
    folder.mkdir(parents=True, exist_ok=True)
    mount, umount = shutil.which("mount"), shutil.which("umount")
    if mount is None or umount is None or os.geteuid() != 0:
        pytest.skip("needs root and mount(8) to make a small tmpfs")
    done = run_quietly(mount, "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder))
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        run_quietly(umount, "-l", str(folder))


def remount_read_only(folder: Path) -> None:
    mount = shutil.which("mount")
    assert mount is not None
    done = run_quietly(mount, "-o", "remount,ro", str(folder))
    assert done.returncode == 0, done.stderr


def remove_database(db: Path) -> None:
    for suffix in SUFFIXES:
        Path(f"{db}{suffix}").unlink(missing_ok=True)
