"""Lines from a stream (a terminal, a pipe, a file) in bounded memory.

`readline()` keeps a whole line in memory before anyone can look at its length: a
200 MB line cost the console half a gigabyte. Here the stream is read in chunks and a
line longer than the limit is skipped up to its newline without being kept, so memory
stays at about one chunk plus the limit whatever arrives. Bytes are decoded at the
edge (text_edge): what is not UTF-8 arrives as U+FFFD, never as an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from collections.abc import AsyncGenerator, AsyncIterator
from typing import IO, Any

from bot.adapters.text_edge import decode_text

CHUNK = 64 * 1024


class LineSplitter:
    """Splits a byte stream fed in chunks into lines of at most `limit` bytes; a longer
    line comes out as None (skipped, never held in memory)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._partial = bytearray()
        self._skipping = False

    def feed(self, chunk: bytes) -> list[bytes | None]:
        lines: list[bytes | None] = []
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            if not self._skipping and len(self._partial) + len(piece) > self.limit:
                self._partial.clear()
                self._skipping = True
            if not self._skipping:
                self._partial += piece
            if end < 0:
                return lines
            lines.append(None if self._skipping else bytes(self._partial))
            self._partial.clear()
            self._skipping = False
            start = end + 1

    def end(self) -> list[bytes | None]:
        """At end of stream: the last line, when it had no newline."""
        if self._skipping:
            self._skipping = False
            return [None]
        if self._partial:
            last = bytes(self._partial)
            self._partial.clear()
            return [last]
        return []


async def read_lines(stream: IO[Any], limit: int) -> AsyncGenerator[str | None, None]:
    """Lines of `stream` without their line ending, decoded; None for a line longer than
    `limit` bytes."""
    splitter = LineSplitter(limit)
    async for chunk in _chunks(stream):
        for line in splitter.feed(chunk):
            yield None if line is None else decode_text(line).rstrip("\r")
    for line in splitter.end():
        yield None if line is None else decode_text(line).rstrip("\r")


async def _chunks(stream: IO[Any]) -> AsyncIterator[bytes]:
    fd = _waitable_fd(stream)
    if fd is not None:
        async for chunk in _fd_chunks(fd):
            yield chunk
        return
    # A regular file (or an in-memory stream) never blocks for long: a worker thread.
    binary = getattr(stream, "buffer", None)
    read = getattr(binary, "read1", None) or (binary.read if binary is not None else None)
    while True:
        data: bytes | str = await asyncio.to_thread(read or stream.read, CHUNK)
        # A text stream without bytes underneath (io.StringIO) may hold lone surrogates;
        # encoded as they are, they decode to U+FFFD like any other bad byte.
        chunk = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
        if not chunk:
            return
        yield chunk


def _waitable_fd(stream: IO[Any]) -> int | None:
    """The descriptor of a pipe, terminal or socket, which the event loop can wait on:
    a read then never blocks, and closing the console cancels it at once (a thread
    blocked in readline would keep the process alive until the next line)."""
    try:
        fd = stream.fileno()
        mode = os.fstat(fd).st_mode
    except (AttributeError, OSError, ValueError):
        return None
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode):
        return fd
    return None


async def _fd_chunks(fd: int) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    try:
        loop.add_reader(fd, ready.set)
    except (NotImplementedError, OSError, ValueError):  # a loop that cannot wait on it
        while chunk := await asyncio.to_thread(os.read, fd, CHUNK):
            yield chunk
        return
    try:
        while True:
            await ready.wait()
            ready.clear()
            try:
                chunk = os.read(fd, CHUNK)
            except BlockingIOError:  # someone else read it first
                continue
            if not chunk:
                return
            yield chunk
    finally:
        with contextlib.suppress(Exception):
            loop.remove_reader(fd)
