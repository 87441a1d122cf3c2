"""Our own listening socket: the port the kernel picked is the one that answers, on IPv4 and IPv6 alike, and a
taken port is an OSError before anything is served."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from aiohttp import web

from bot.web.listening import bind, serve


async def _hello(_request: web.Request) -> web.Response:
    return web.Response(text="在")


async def _served(host: str, url_host: str) -> tuple[int, str]:
    app = web.Application()
    app.add_routes([web.get("/", _hello)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        port = await serve(runner, host, 0)
        async with aiohttp.ClientSession() as session, session.get(f"http://{url_host}:{port}/") as response:
            return port, await response.text()
    finally:
        await runner.cleanup()


def test_port_zero_serves_on_the_port_the_kernel_picked() -> None:
    port, text = asyncio.run(_served("127.0.0.1", "127.0.0.1"))
    assert port > 0
    assert text == "在"


def test_an_ipv6_host_is_bound_as_ipv6() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        probe = bind("::1", 0)
    except OSError:
        pytest.skip("::1 is not configured on this machine")
    with probe:
        assert probe.family is socket.AF_INET6
    assert asyncio.run(_served("::1", "[::1]"))[1] == "在"


def test_a_taken_port_is_refused() -> None:
    with bind("127.0.0.1", 0) as taken:
        port = int(taken.getsockname()[1])
        with pytest.raises(OSError):
            bind("127.0.0.1", port)
