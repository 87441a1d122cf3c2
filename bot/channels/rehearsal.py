"""`RehearsalRobots`: the robots' stand-in for a rehearsal (`laba simulate` without --live).

It claims the same groups as the real robots, so every delivery is routed exactly as the daemon would route it
(robot, default channel, relay, @mention in a work group), but what would be posted is written to the outbox,
marked with the route it would have taken. Nothing reaches a robot's webhook.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from bot.channels.base import Handoff, InboundMessage, OutgoingFile, no_handoff
from bot.channels.outbox import OutboxChannel
from bot.core.planner import Target
from bot.health import HealthLine


class RehearsalRobots:
    name = "robots-rehearsal"

    def __init__(self, groups: frozenset[str], outbox: OutboxChannel) -> None:
        self._groups = groups
        self._outbox = outbox
        self._closed = asyncio.Event()

    @property
    def groups(self) -> frozenset[str]:
        return self._groups

    async def start(self) -> None:
        self._closed.clear()
        await self._outbox.start()

    async def close(self) -> None:
        # The outbox is the default channel's too: the routed channel closes it.
        self._closed.set()

    async def send_text(self, target: Target, text: str, *, handoff: Handoff = no_handoff) -> str:
        return await self._outbox.send_text(target, text, handoff=handoff)

    async def send_file(self, target: Target, file: OutgoingFile, *, handoff: Handoff = no_handoff) -> str:
        return await self._outbox.send_file(target, file, handoff=handoff)

    async def inbound(self) -> AsyncIterator[InboundMessage]:
        await self._closed.wait()
        return
        yield  # pragma: no cover  (makes this an async generator)

    async def health(self) -> list[HealthLine]:
        return [HealthLine("群机器人（预演）", True, f"{len(self._groups)} 个群的机器人消息写进发件箱，不真的发出")]
