"""Knowing when a TLS connection has finished closing, without reaching into grpclib: through `ssl`'s public
`SSLContext.sslobject_class` hook.

grpclib closes its connection with `transport.close()`: a TLS transport then exchanges close_notify over a few more
loop turns before the socket is closed. A caller that ends its event loop right after `close()` would leave the
socket to the garbage collector (a ResourceWarning). `TlsClosing` lets `close()` wait, bounded, for that handshake.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any


class TlsClosing:
    """Installs a tracking `SSLObject` class on `context`; `wait()` returns once the newest session has finished
    its closing handshake (or never had one), at most after `seconds`."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._latest: ssl.SSLObject | None = None
        self._closed = asyncio.Event()
        watch = self

        class _Tracked(ssl.SSLObject):
            def do_handshake(self) -> None:
                if watch._latest is not self:
                    watch._latest = self
                    watch._closed = asyncio.Event()
                super().do_handshake()

            def unwrap(self) -> Any:
                result = super().unwrap()  # raises SSLWantReadError until the peer's close_notify is in
                if watch._latest is self:
                    watch._closed.set()
                return result

        context.sslobject_class = _Tracked

    async def wait(self, seconds: float = 1.0) -> None:
        if self._latest is not None:
            try:
                async with asyncio.timeout(seconds):
                    await self._closed.wait()
            except TimeoutError:
                pass  # a peer that never answers: the socket is the collector's then, as before
        # After the handshake (or for plain TCP) the transport closes its socket on the next loop turns.
        for _ in range(3):
            await asyncio.sleep(0)
