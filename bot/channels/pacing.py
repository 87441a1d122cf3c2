"""Pacing of sends, for any channel: one send at a time, a random gap, an hourly cap, and a pause on demand.

Shaped like python-telegram-bot's `BaseRateLimiter`: the channel hands each network call to `process`, which
decides when it runs. The clock and the sleep are injected, so tests run hours of pacing on a virtual clock.

Contracts:
- `process` runs calls one at a time, in the order they arrive (an `asyncio.Lock` is FIFO).
- Only a call that returned counts as sent (the gap, the hourly cap, `sent_count`); a call that raised does not.
- `pause(seconds)` (a network's "you send too fast" notice) holds back every call not yet started, including one
  already waiting for its gap.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
HOUR = 3600.0


class RateLimiter(Protocol):
    """What a channel needs from a limiter. `process` may wait before it calls, never retries."""

    async def process(self, call: Callable[[], Awaitable[T]]) -> T: ...

    def pause(self, seconds: float) -> None:
        """Hold back calls for `seconds` from now (longer pauses win)."""
        ...

    def paused_for(self) -> float:
        """Seconds the current pause still lasts (0 when not paused)."""
        ...

    @property
    def sent_count(self) -> int: ...


@dataclass(frozen=True)
class Pace:
    """`gap_seconds` is the (min, max) random pause between two sends; (0, 0) turns it off. `hourly_cap` is the
    most sends in any 60 minutes; 0 means no cap."""

    gap_seconds: tuple[float, float] = (5.0, 15.0)
    hourly_cap: int = 120


class SendPacer:
    """The `RateLimiter` for chat accounts that get banned for bursts (WeChat): serial, gapped, capped."""

    def __init__(
        self,
        pace: Pace,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.pace = pace
        self._monotonic = monotonic
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lock = asyncio.Lock()
        self._last_send = float("-inf")
        self._sent_times: collections.deque[float] = collections.deque()
        self._paused_until = 0.0
        self._sent = 0

    @property
    def sent_count(self) -> int:
        return self._sent

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._monotonic() + seconds)

    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._monotonic())

    async def process(self, call: Callable[[], Awaitable[T]]) -> T:
        async with self._lock:
            await self._wait_turn()
            result = await call()
            now = self._monotonic()
            self._last_send = now
            if self.pace.hourly_cap > 0:
                self._sent_times.append(now)
            self._sent += 1
            return result

    async def _wait_turn(self) -> None:
        """Wait out a pause, the hourly cap and a random gap since the last send (rechecked after every wait)."""
        gap: float | None = None
        while True:
            now = self._monotonic()
            if now < self._paused_until:
                await self._sleep(self._paused_until - now)
                continue
            while self._sent_times and self._sent_times[0] <= now - HOUR:
                self._sent_times.popleft()
            cap = self.pace.hourly_cap
            if 0 < cap <= len(self._sent_times):
                wait = self._sent_times[0] + HOUR - now
                log.warning("hourly cap of %d sends reached: waiting %.0f s", cap, wait)
                await self._sleep(wait)
                continue
            low, high = self.pace.gap_seconds
            if high <= 0:
                return
            if gap is None:
                gap = self._rng.uniform(low, high)  # drawn once per send, so rechecks don't reroll it
            wait = self._last_send + gap - now
            if wait <= 0:
                return
            await self._sleep(wait)
