"""Test-suite wide configuration.

Network guard: every test runs with outbound connections limited to loopback (127.0.0.0/8, ::1,
``localhost``) and unix sockets. Anything else raises
``RuntimeError("network access blocked in tests: <addr>")`` before a packet leaves the machine,
including DNS lookups of non-local names. It patches the Python-level entry points:
``socket.socket.connect``/``connect_ex`` (which asyncio's ``sock_connect`` and aiohttp end up in),
``socket.create_connection``, ``socket.getaddrinfo`` (used by asyncio's resolver) and
``asyncio.BaseEventLoop.create_connection``. C extensions that open their own sockets (aiodns,
uvloop) and subprocesses are not covered; neither is installed here.

discord.py 2.7 imports the stdlib ``audioop`` on Python 3.11-3.12, which emits a
DeprecationWarning at import time; with ``filterwarnings = error`` that fails collection of any
test importing discord. It is imported once here with that one warning silenced (the module
cache makes later imports silent). A pyproject entry
``"ignore:'audioop' is deprecated:DeprecationWarning"`` would do the same.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord  # noqa: F401

_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def _host_is_local(host: object) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").split("%", 1)[0].lower()
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _check(address: Any, family: int | None = None) -> None:
    if family == getattr(socket, "AF_UNIX", object()) or isinstance(address, str | bytes):
        return  # unix socket path (or abstract namespace)
    host = address[0] if isinstance(address, tuple) and address else address
    if not _host_is_local(host):
        raise RuntimeError(f"network access blocked in tests: {address!r}")


@pytest.fixture(autouse=True, scope="session")
def _block_network() -> Iterator[None]:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_create_connection = socket.create_connection
    real_getaddrinfo = socket.getaddrinfo
    real_loop_create_connection = asyncio.BaseEventLoop.create_connection

    def connect(self: socket.socket, address: Any) -> None:
        _check(address, self.family)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        _check(address, self.family)
        return real_connect_ex(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        _check(address)
        return real_create_connection(address, *args, **kwargs)

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if not _host_is_local(host):
            try:  # a literal address needs no lookup; connect() still guards it
                ipaddress.ip_address(host.decode() if isinstance(host, bytes) else host)
            except ValueError:
                raise RuntimeError(
                    f"network access blocked in tests: {(host, port)!r}"
                ) from None
        return real_getaddrinfo(host, port, *args, **kwargs)

    async def loop_create_connection(
        self: asyncio.BaseEventLoop, protocol_factory: Any, host: Any = None, port: Any = None,
        *args: Any, **kwargs: Any,
    ) -> Any:
        if host is not None:
            _check((host, port))
        return await real_loop_create_connection(
            self, protocol_factory, host, port, *args, **kwargs
        )

    patcher = pytest.MonkeyPatch()
    patcher.setattr(socket.socket, "connect", connect)
    patcher.setattr(socket.socket, "connect_ex", connect_ex)
    patcher.setattr(socket, "create_connection", create_connection)
    patcher.setattr(socket, "getaddrinfo", getaddrinfo)
    patcher.setattr(asyncio.BaseEventLoop, "create_connection", loop_create_connection)
    try:
        yield
    finally:
        patcher.undo()
