"""Pacing of sends, for any channel: one send at a time, a random gap, an hourly cap, and a pause on demand.

Shaped like python-telegram-bot's `BaseRateLimiter`: the channel hands each network call to `process`, which
decides when it runs. The clock and the sleep are injected, so tests run hours of pacing on a virtual clock.

Contracts:
- `process` runs calls one at a time; waiting calls go by priority (`SendPriority`: admin alerts and answers to
  admins, then planned sends, then replies to everyone else), in the order they arrive within a priority.
- Replies have their own share of the hourly cap (`Pace.reply_share`): a reply beyond it waits, outside the queue,
  so a flood of questions can never spend what the scheduled reminders need.
- Only a call that returned counts as sent (the gap, the hourly cap, `sent_count`); a call that raised does not.
- `pause(seconds)` (a network's "you send too fast" notice) holds back every call not yet started, including one
  already waiting for its gap.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import heapq
import itertools
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
HOUR = 3600.0


class SendPriority(IntEnum):
    """Who goes first when several sends wait for the pacer (lower first)."""

    ALERT = 0  # alerts to the admins and answers to their commands
    PLANNED = 1  # scheduled jobs and one-off sends by the office
    REPLY = 2  # answers to villagers and strangers: only what is left over, within `Pace.reply_share`


# The priority of the send being made in this task. A context variable rather than an argument of every channel's
# `send_text`/`send_file`: only the pacer cares, and the pipeline sets it around a send (`Pipeline.send_now`), so
# the dozen channels and wrappers between them need not change. Unset means planned.
send_priority: contextvars.ContextVar[SendPriority] = contextvars.ContextVar(
    "send_priority", default=SendPriority.PLANNED
)


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
    most sends in any 60 minutes; 0 means no cap. `reply_share` is the part of the cap replies may use (at least
    one an hour), so the rest is always there for planned sends and alerts."""

    gap_seconds: tuple[float, float] = (5.0, 15.0)
    hourly_cap: int = 120
    reply_share: float = 0.25

    @property
    def reply_cap(self) -> int:
        return max(1, int(self.hourly_cap * self.reply_share)) if self.hourly_cap > 0 else 0


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
        self._busy = False
        self._queue: list[tuple[int, int, asyncio.Future[None]]] = []  # (priority, arrival, wake-up) heap
        self._arrivals = itertools.count()
        self._last_send = float("-inf")
        self._sent_times: collections.deque[float] = collections.deque()
        self._reply_times: collections.deque[float] = collections.deque()
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
        priority = send_priority.get()
        arrival = next(self._arrivals)
        await self._wait_turn(priority, arrival)
        try:
            result = await call()
            now = self._monotonic()
            self._last_send = now
            if self.pace.hourly_cap > 0:
                self._sent_times.append(now)
                if priority is SendPriority.REPLY:
                    self._reply_times.append(now)
            self._sent += 1
            return result
        finally:
            self._release()

    async def _wait_turn(self, priority: SendPriority, arrival: int) -> None:
        """Hold the turn on return. A pause, the hourly cap or the replies' share is waited out without the turn
        (so a higher priority send may go meanwhile); the random gap since the last send with it."""
        gap: float | None = None
        await self._acquire(priority, arrival)
        while True:
            blocked = self._blocked_for(priority)
            if blocked > 0:
                self._release()
                await self._sleep(blocked)
                await self._acquire(priority, arrival)
                continue
            low, high = self.pace.gap_seconds
            if high <= 0:
                return
            if gap is None:
                gap = self._rng.uniform(low, high)  # drawn once per send, so rechecks don't reroll it
            wait = self._last_send + gap - self._monotonic()
            if wait <= 0:
                return
            await self._sleep(wait)

    def _blocked_for(self, priority: SendPriority) -> float:
        now = self._monotonic()
        if now < self._paused_until:
            return self._paused_until - now
        for times in (self._sent_times, self._reply_times):
            while times and times[0] <= now - HOUR:
                times.popleft()
        cap = self.pace.hourly_cap
        if 0 < cap <= len(self._sent_times):
            wait = self._sent_times[0] + HOUR - now
            log.warning("一小时内已发 %d 条，到了上限：等 %.0f 秒", cap, wait)
            return wait
        if priority is SendPriority.REPLY and 0 < self.pace.reply_cap <= len(self._reply_times):
            wait = self._reply_times[0] + HOUR - now
            log.warning("回复每小时 %d 条的份额已用完：这条回复等 %.0f 秒", self.pace.reply_cap, wait)
            return wait
        return 0.0

    async def _acquire(self, priority: SendPriority, arrival: int) -> None:
        if not self._busy and not self._queue:
            self._busy = True
            return
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._queue, (int(priority), arrival, woken))
        try:
            await woken
        except asyncio.CancelledError:
            if woken.done() and not woken.cancelled():
                self._release()  # handed the turn just as it was cancelled: pass it on
            raise

    def _release(self) -> None:
        """Pass the turn to the first waiting send (by priority, then arrival), or free it."""
        while self._queue:
            _, _, woken = heapq.heappop(self._queue)
            if not woken.done():
                woken.set_result(None)
                return
        self._busy = False
