"""The embedded default channel: every delivery becomes a text file under `<data>/outbox/` and a line on stdout.

No credentials, no network. A clerk can open the folder and copy messages into WeChat by hand, which is also how
a town can use laba before it connects a WeChat account.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot.channels.base import InboundMessage
from bot.core.planner import Target
from bot.errors import DeliveryError

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class OutboxChannel:
    name = "outbox"

    def __init__(self, folder: Path, now: Callable[[], datetime], echo: TextIO | None = sys.stdout) -> None:
        self._folder = folder
        self._now = now
        self._echo = echo
        self._closed = asyncio.Event()
        self._seq = 0

    async def start(self) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)

    async def send_text(self, target: Target, text: str) -> str:
        now = self._now()
        day = self._folder / now.strftime("%Y-%m-%d")
        self._seq += 1
        # Ids only: a file name is never built from a group's display name or a user's text.
        name = f"{now:%H%M%S}-{_UNSAFE.sub('_', target.id)}-{os.getpid()}-{self._seq:04d}.txt"
        body = f"收件: {target.name} ({target.kind}:{target.id})\n时间: {now.isoformat()}\n\n{text}\n"
        try:
            day.mkdir(parents=True, exist_ok=True)
            # Written whole or not at all: a half-written message must never look delivered.
            fd, tmp = tempfile.mkstemp(dir=day, prefix=".tmp-", suffix=".txt")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(body)
            os.replace(tmp, day / name)
        except OSError as exc:
            raise DeliveryError(f"写不进发件箱 {day}: {exc}") from exc
        if self._echo is not None:
            first = text.splitlines()[0] if text else ""
            print(f"[发件箱] {now:%m-%d %H:%M} → {target.name}: {first}", file=self._echo)
        return f"outbox:{day.name}/{name}"

    async def inbound(self) -> AsyncIterator[InboundMessage]:
        # The outbox only sends; replies arrive through a real channel (WeChat).
        await self._closed.wait()
        return
        yield  # pragma: no cover  (makes this an async generator)

    async def close(self) -> None:
        self._closed.set()
