"""`RelayDesk`: the relay (人工代发) as a way out — queue a delivery for a person to forward by hand, and tell the
relay people once per batch what is waiting."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.core.planner import Target
from bot.errors import DeliveryError
from bot.health import HealthLine
from bot.store.relay import RelayQueue

log = logging.getLogger(__name__)

RELAY_ID_PREFIX = "relay:"  # a message id starting so means "queued for the relay", not "posted"

Render = Callable[[str, Mapping[str, Any]], str]
Send = Callable[[Target, str], Awaitable[str]]


def is_relayed(message_id: str) -> bool:
    return message_id.startswith(RELAY_ID_PREFIX)


class RelayDesk:
    def __init__(self, queue: RelayQueue, now: Callable[[], datetime]) -> None:
        self.queue_store = queue
        self._now = now

    async def queue(self, target: Target, text: str, file_path: Path | None, reason: str) -> str:
        """Queue one delivery; returns its message id (`relay:<id>`). Never raises DeliveryError: the relay is the
        path of last resort (a database error propagates, as any store error does)."""
        item_id = await asyncio.to_thread(
            self.queue_store.add, target.id, target.name, text, str(file_path or ""), reason, self._now()
        )
        log.warning("已交代发人（第 %d 条）→ %s：%s", item_id, target.name, reason)
        return f"{RELAY_ID_PREFIX}{item_id}"

    async def flush(self, people: Sequence[Target], render: Render, send: Send) -> int:
        """Tell the relay people, in one message, of everything queued since the last digest. Returns how many
        items it named. A digest that reaches nobody is logged: `laba relay` still lists every item."""
        items = await asyncio.to_thread(self.queue_store.take_undigested, self._now())
        if not items:
            return 0
        rows = [{"id": i.id, "target": i.target_name, "text": i.text, "since": i.queued_at} for i in items]
        text = render("relay_digest", {"items": rows, "count": len(rows)})
        if not people:
            log.error("人工代发：有 %d 条在等，但 town.yaml 里没写代发人：\n%s", len(rows), text)
        for person in people:
            try:
                await send(person, text)
            except DeliveryError as exc:
                log.error("代发清单没能发给 %s：%s\n%s", person.name, exc, text)
        return len(rows)

    async def health(self) -> list[HealthLine]:
        waiting = await asyncio.to_thread(self.queue_store.waiting)
        return [
            HealthLine("人工代发", True, f"待转发 {len(waiting)} 条" + ("（用 laba relay 查看）" if waiting else ""))
        ]
