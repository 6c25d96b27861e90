"""The conftest network guard refuses non-loopback connections and still allows loopback."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest

BLOCKED = ("93.184.216.34", 80)
MATCH = "network access blocked in tests"


def test_socket_connect_is_blocked() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        with pytest.raises(RuntimeError, match=MATCH):
            sock.connect(BLOCKED)
        with pytest.raises(RuntimeError, match=MATCH):
            sock.connect_ex(BLOCKED)


def test_create_connection_and_dns_are_blocked() -> None:
    with pytest.raises(RuntimeError, match=MATCH):
        socket.create_connection(BLOCKED, timeout=1)
    with pytest.raises(RuntimeError, match=MATCH):
        socket.getaddrinfo("example.com", 443)


async def test_asyncio_and_aiohttp_are_blocked() -> None:
    with pytest.raises(RuntimeError, match=MATCH):
        await asyncio.wait_for(asyncio.open_connection(*BLOCKED), 2)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(RuntimeError, match=MATCH):
            await asyncio.wait_for(session.get("http://93.184.216.34/"), 2)
        with pytest.raises(RuntimeError, match=MATCH):
            await asyncio.wait_for(session.get("https://discord.com/api/v10/gateway"), 2)


async def test_loopback_is_allowed() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        for host in ("127.0.0.1", "localhost"):
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2)
            writer.write(b"ping\n")
            assert await asyncio.wait_for(reader.readline(), 2) == b"ping\n"
            writer.close()
            await writer.wait_closed()
    finally:
        server.close()
        await server.wait_closed()
