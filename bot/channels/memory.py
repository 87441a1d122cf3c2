"""An in-memory channel for tests and benchmarks: records what was sent, fails on demand, injects replies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from bot.channels.base import Handoff, InboundMessage, OutgoingFile, no_handoff
from bot.core.planner import Target
from bot.errors import DeliveryError
from bot.health import HealthLine


@dataclass(frozen=True)
class SentMessage:
    target: Target
    text: str
    message_id: str
    file: OutgoingFile | None = None


@dataclass
class MemoryChannel:
    name: str = "memory"
    sent: list[SentMessage] = field(default_factory=list)
    # Target ids that refuse every message, and a count of next sends (to anyone) that fail once each.
    refuse: set[str] = field(default_factory=set)
    # Target ids whose sends break mid-way: maybe delivered, maybe not (as when a gateway drops the connection).
    break_midway: set[str] = field(default_factory=set)
    fail_next: int = 0
    # Awaited before each send reaches the "network": a test's stand-in for a pacing wait or a lookup that can
    # block or fail (raise any exception) before the message leaves.
    before_wire: Callable[[Target], Awaitable[None]] | None = None
    # Awaited after the handoff, while the message is "on the wire": a stand-in for a slow network call, or one
    # that breaks (raise) after the message may have left.
    on_wire: Callable[[Target], Awaitable[None]] | None = None
    _queue: asyncio.Queue[InboundMessage | None] = field(default_factory=asyncio.Queue)

    async def start(self) -> None:
        return None

    async def send_text(self, target: Target, text: str, *, handoff: Handoff = no_handoff) -> str:
        return await self._record(target, text, None, handoff)

    async def send_file(self, target: Target, file: OutgoingFile, *, handoff: Handoff = no_handoff) -> str:
        return await self._record(target, "", file, handoff)

    async def _record(self, target: Target, text: str, file: OutgoingFile | None, handoff: Handoff) -> str:
        if self.before_wire is not None:
            await self.before_wire(target)
        await handoff(True)
        if self.on_wire is not None:
            await self.on_wire(target)
        if target.id in self.refuse:
            raise DeliveryError(f"{target.id} refuses messages", permanent=True)
        if target.id in self.break_midway:
            raise DeliveryError(f"connection to {target.id} broke mid-send", uncertain=True)
        if self.fail_next > 0:
            self.fail_next -= 1
            raise DeliveryError("transient failure (MemoryChannel.fail_next)")
        message_id = f"mem-{len(self.sent) + 1}"
        self.sent.append(SentMessage(target, text, message_id, file))
        return message_id

    def receive(self, message: InboundMessage) -> None:
        self._queue.put_nowait(message)

    async def inbound(self) -> AsyncIterator[InboundMessage]:
        while (msg := await self._queue.get()) is not None:
            yield msg

    async def health(self) -> list[HealthLine]:
        return [HealthLine("内存渠道", True, f"已记录 {len(self.sent)} 条")]

    async def close(self) -> None:
        self._queue.put_nowait(None)

    def texts_to(self, target_id: str) -> list[str]:
        return [m.text for m in self.sent if m.target.id == target_id]
