"""Where messages from people go: an ordered list of handlers, the first that takes a message consumes it.

Admin commands (`#状态` …) and proof intake (photos from units) are handlers. A handler that raises is logged and
the message is offered to the next one, so one bug can't make the bot deaf.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from bot.channels.base import InboundMessage

log = logging.getLogger(__name__)


class InboundHandler(Protocol):
    async def handle(self, message: InboundMessage) -> bool:
        """Act on the message; True if it was for this handler (no later handler sees it)."""
        ...


class InboundRouter:
    def __init__(self, handlers: Sequence[InboundHandler] = ()) -> None:
        self.handlers: list[InboundHandler] = list(handlers)

    async def dispatch(self, message: InboundMessage) -> bool:
        for handler in self.handlers:
            try:
                if await handler.handle(message):
                    return True
            except Exception:
                log.exception("%s failed on message %s", type(handler).__name__, message.message_id)
        log.info("no handler took %s from %s: %s", message.message_id, message.sender_name, message.text[:60])
        return False
