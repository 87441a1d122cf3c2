"""Where messages from people go: an ordered list of handlers, the first that takes a message consumes it.

Admin commands (`#状态` …) and proof intake (photos from units) are handlers. A handler that raises is logged and
the message is offered to the next one, so one bug can't make the bot deaf.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from bot.channels.base import InboundMessage
from bot.late import Lazy

log = logging.getLogger(__name__)


class InboundHandler(Protocol):
    async def handle(self, message: InboundMessage) -> bool:
        """Act on the message; True if it was for this handler (no later handler sees it)."""
        ...


class InboundRouter:
    """Handlers given as `Lazy` are built when the first message reaches them (an idle daemon never imports them)."""

    def __init__(self, handlers: Sequence[InboundHandler | Lazy[InboundHandler]] = ()) -> None:
        self._entries = list(handlers)

    @property
    def handlers(self) -> list[InboundHandler]:
        """Every handler, in order (lazy ones built now)."""
        return [_built(entry) for entry in self._entries]

    async def dispatch(self, message: InboundMessage) -> bool:
        for entry in self._entries:
            try:
                # Built inside the try: a handler that fails to build is logged like one that fails to handle.
                handler = _built(entry)
            except Exception:
                log.exception("处理消息 %s 的程序没能启动", message.message_id)
                continue
            try:
                if await handler.handle(message):
                    return True
            except Exception:
                log.exception("%s 处理消息 %s 时出错", type(handler).__name__, message.message_id)
        log.info("消息 %s（%s）没有要处理的：%s", message.message_id, message.sender_name, message.text[:60])
        return False


def _built(entry: InboundHandler | Lazy[InboundHandler]) -> InboundHandler:
    return entry.get() if isinstance(entry, Lazy) else entry


class ConversationQueues:
    """Dispatch without one slow reply holding up everything: each conversation (a room, or a person's private
    chat) has its own queue, handled in order by its own task, so a flood in one group doesn't delay the others.
    Messages `urgent` picks (an admin's command) go to a queue of their own per sender, ahead of whatever that
    conversation has waiting: `#暂停` is acted on at once, even while replies wait for the pacer.

    Order within a conversation is kept (a burst of photos, then `#绑定`, then a question); between conversations
    it never mattered, since they are different people.
    """

    def __init__(self, router: InboundRouter, urgent: Callable[[InboundMessage], bool] = lambda _: False) -> None:
        self.router = router
        self.urgent = urgent
        self._queues: dict[str, collections.deque[InboundMessage]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}

    @staticmethod
    def conversation(message: InboundMessage) -> str:
        return f"room:{message.room_id}" if message.room_id is not None else f"person:{message.sender}"

    def submit(self, message: InboundMessage) -> None:
        key = f"admin:{message.sender}" if self.urgent(message) else self.conversation(message)
        self._queues.setdefault(key, collections.deque()).append(message)
        if key not in self._workers:
            task = asyncio.create_task(self._work(key), name=f"inbound {key}")
            self._workers[key] = task

    async def _work(self, key: str) -> None:
        queue = self._queues[key]
        try:
            while queue:
                await self.router.dispatch(queue.popleft())  # never raises: the router logs a handler's failure
        finally:
            del self._workers[key]
            if not queue:
                del self._queues[key]

    @property
    def waiting(self) -> int:
        return sum(len(q) for q in self._queues.values())

    async def join(self) -> None:
        """Wait until every message submitted so far is handled."""
        while self._workers:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def close(self) -> None:
        """Stop handling (shutdown): what is still queued is not handled, as when the daemon is not running."""
        if self.waiting:
            log.warning("停止时还有 %d 条收到的消息没有处理", self.waiting)
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
