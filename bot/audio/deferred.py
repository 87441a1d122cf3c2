"""A clip producer made when the first clip is wanted: the daemon doesn't load TTS engines (edge-tts, aiohttp,
pypinyin) at start-up for a month that may have no broadcast at all."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # named in signatures only: the clip types load with the first clip's producer
    from bot.audio.base import Clip, ClipProducer, ClipRequest


class DeferredProducer:
    """`ClipProducer` that builds the real one with `make` on first use (in a worker thread: importing is blocking
    work), then hands every request to it."""

    def __init__(self, make: Callable[[], ClipProducer]) -> None:
        self._make = make
        self._producer: ClipProducer | None = None
        self._lock = asyncio.Lock()

    async def produce(self, request: ClipRequest) -> Clip:
        if self._producer is None:
            async with self._lock:
                if self._producer is None:
                    self._producer = await asyncio.to_thread(self._make)
        return await self._producer.produce(request)
