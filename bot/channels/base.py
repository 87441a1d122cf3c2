"""The channel interface: the one boundary between the pipeline and a messaging network."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.core.planner import Target


@dataclass(frozen=True)
class InboundMessage:
    """Something a person said to the bot, in a group (`room`) or privately (`room` is None)."""

    sender: str
    sender_name: str
    room: str | None
    text: str
    received_at: datetime


class Channel(Protocol):
    name: str

    async def start(self) -> None:
        """Connect (log in, open streams). Idempotent."""
        ...

    async def send_text(self, target: Target, text: str) -> str:
        """Hand `text` to the network for `target`; returns the network's message id.

        Raises `bot.errors.DeliveryError` if the network refused it (`permanent=True` when a retry can't help).
        Must not retry by itself: retries are the pipeline's, so each attempt is counted and recorded.
        """
        ...

    def inbound(self) -> AsyncIterator[InboundMessage]:
        """Messages from people, as they arrive. Ends when the channel is closed."""
        ...

    async def close(self) -> None: ...
