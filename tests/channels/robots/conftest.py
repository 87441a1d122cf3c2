"""A loopback robot server per test, on a shared fake clock: waits for the rate limit advance it, never sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from bot.channels.robots import Pacer
from bot.channels.robots.loopback import LoopbackRobots

WALL_START_MS = 1_780_000_000_000


@dataclass
class FakeTime:
    """Monotonic seconds and wall-clock ms that move only when someone waits."""

    now: float = 1000.0
    slept: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def wall_ms(self) -> int:
        return WALL_START_MS + int(self.now * 1000)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(seconds, 0.0)

    def pacer(self, per_minute: int = 20) -> Pacer:
        return Pacer(per_minute, self.monotonic, self.sleep)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


Scenario = Callable[[LoopbackRobots], Awaitable[None]]


@pytest.fixture
def served(fake_time: FakeTime) -> Callable[[Scenario], None]:
    """Run `scenario(server)` against a started loopback robot server on the fake clock."""

    def run(scenario: Scenario) -> None:
        async def main() -> None:
            server = LoopbackRobots(now=fake_time.monotonic, wall_ms=fake_time.wall_ms)
            await server.start()
            try:
                await scenario(server)
            finally:
                await server.close()

        asyncio.run(main())

    return run
