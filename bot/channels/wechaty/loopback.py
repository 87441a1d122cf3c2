"""`LoopbackPuppet`: a Wechaty puppet-service gateway on 127.0.0.1, for tests, the sandbox and the benchmark.

Like httpx's MockTransport, it ships in the package so everything above the socket runs for real: the
`WechatyChannel` talks gRPC (HTTP/2, optionally TLS with Wechaty's "insecure" certificate) to a real grpclib server.
It behaves as the gateways we target do:

- a heartbeat as soon as the event stream opens, then every `heartbeat_seconds`; LOGIN and READY replayed to a
  client that connects while logged in, SCAN while not; a second event stream gets ALREADY_EXISTS;
- `Start` logs in (or asks for a scan); `Stop` stops the puppet; the token is checked on every call;
- messages carry the wire enum (Image=6, Text=7) and millisecond timestamps; the bot's own sends come back as
  MESSAGE events; images over 20 KB are uuid file boxes fetched with `Download`, smaller ones fail `MessageImage`
  with the gateway's INTERNAL error (the client must fall back to `MessageImageStream`);
- on demand: throttling notices, topic changes, logout, a dropped event stream, a killed and restarted server.

Everything it knows (rooms, contacts, the message log) survives `restart()`; the port stays the same.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

import grpclib.server

from bot.channels.wechaty.loopback_service import PuppetService
from bot.channels.wechaty.loopback_world import SYSTEM_SENDER, Contact, LoggedMessage, Room
from bot.channels.wechaty.protocol import server_ssl_context


class _Server(grpclib.server.Server):
    """grpclib's server, remembering its connections so a "kill" can cut them (close() only cancels handlers)."""

    def __init__(self, handlers: Any) -> None:
        super().__init__(handlers)
        self.transports: set[asyncio.BaseTransport] = set()

    def _protocol_factory(self) -> Any:
        protocol = super()._protocol_factory()
        made = protocol.connection_made

        def connection_made(transport: asyncio.BaseTransport) -> None:
            self.transports.add(transport)
            made(transport)

        protocol.connection_made = connection_made  # type: ignore[method-assign]
        return protocol


class LoopbackPuppet(PuppetService):
    """A puppet-service gateway on loopback. `async with LoopbackPuppet() as puppet:` starts and stops it."""

    def __init__(
        self,
        *,
        token: str = "insecure_loopback",
        tls: bool = False,
        logged_in: bool = True,
        self_name: str = "大喇叭",
        self_weixin: str = "laba-bot",
        heartbeat_seconds: float = 15.0,
        host: str = "127.0.0.1",
        now: Callable[[], float] = time.time,
        announces_ready: bool = True,
    ) -> None:
        self.token = token
        super().__init__(
            token=token,
            tls=tls,
            logged_in=logged_in,
            self_name=self_name,
            self_weixin=self_weixin,
            heartbeat_seconds=heartbeat_seconds,
            host=host,
            now=now,
            announces_ready=announces_ready,
        )
        self._server: _Server | None = None

    # --- lifecycle ------------------------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """The variables that point a `WechatyChannel` here (pacing off)."""
        return {
            "WECHATY_PUPPET_SERVICE_ENDPOINT": self.endpoint,
            "WECHATY_PUPPET_SERVICE_TOKEN": self.token,
            "WECHATY_PUPPET_SERVICE_NO_TLS_INSECURE_CLIENT": "false" if self.tls else "true",
            "BOT_SEND_GAP_SECONDS": "0",
        }

    async def start(self) -> None:
        """Listen on 127.0.0.1 (port 0 the first time: the kernel picks one; the same port after a restart)."""
        server = _Server([self])
        # Our own listening socket (SO_REUSEADDR, as `create_server` sets it): its port is known without asking
        # the server's internals.
        sock = socket.create_server((self.host, self.port))
        self.port = int(sock.getsockname()[1])
        await server.start(sock=sock, ssl=server_ssl_context() if self.tls else None)
        self._server = server

    async def kill(self) -> None:
        """Stop as a crashed gateway does: every connection cut, nothing said. State is kept for `start`."""
        server, self._server = self._server, None
        if server is None:
            return
        self._end_stream()
        server.close()
        for transport in list(server.transports):
            transport.abort()  # type: ignore[attr-defined]
        await server.wait_closed()
        self.started = False

    async def restart(self) -> None:
        await self.kill()
        await self.start()

    async def close(self) -> None:
        await self.kill()

    async def __aenter__(self) -> LoopbackPuppet:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def image_bytes(size: int = 30_000, seed: int = 0) -> bytes:
    """A valid PNG of roughly `size` bytes (noise compresses badly), for tests and the sandbox."""
    import random
    import struct
    import zlib

    rnd = random.Random(seed)
    width = max(8, int((size / 3) ** 0.5))
    raw = b"".join(b"\x00" + bytes(rnd.getrandbits(8) for _ in range(width * 3)) for _ in range(width))

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, width, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


__all__ = ["SYSTEM_SENDER", "Contact", "LoggedMessage", "LoopbackPuppet", "Room", "image_bytes"]
