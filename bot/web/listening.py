"""Serving an aiohttp application on a socket we bind ourselves, so the port (0: the kernel picks one) is known
without asking aiohttp's internals for it."""

from __future__ import annotations

import socket

from aiohttp import web


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port): the first address `host` resolves to, IPv4 or IPv6 alike, with
    SO_REUSEADDR as aiohttp sets it. Raises OSError when the address is taken or can't be resolved."""
    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    return socket.create_server(address[:2], family=family)


async def serve(runner: web.AppRunner, host: str, port: int) -> int:
    """Start `runner` (set up already) on (host, port); returns the port it listens on."""
    sock = bind(host, port)
    try:
        await web.SockSite(runner, sock).start()
    except BaseException:
        sock.close()
        raise
    return int(sock.getsockname()[1])
