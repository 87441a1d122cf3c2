"""Two small helpers the channel's parts share: change notification and fire-and-forget tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


class Changes:
    """Wakes `wait_until` callers whenever a part says something changed (connection, login, rooms, pacing)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool], seconds: float) -> None:
        """Wait until `predicate()` holds, checked after each change. Raises TimeoutError."""
        async with asyncio.timeout(seconds):
            while not predicate():
                await self._event.wait()


class Background:
    """Tasks started and not awaited (Start, Ding, room refreshes, alerts); kept referenced, cancelled on close."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Awaitable[Any]) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
