"""The public lookup page, `/q`: anyone types "XX是什么垃圾" (or just the item) and gets the same answer the
villagers' groups get, from the same dictionary. No sign-in; made for groups reached by robots, which can't take
questions. A plain GET form (`/q?w=…`): works without script, and a result can be shared as a link.

Each query's items are filed like a group question (`QuestionStore.file`, sender `web:<address>`), so the items the
dictionary didn't know land in the office's list (`laba sorting unknown`). Bounded: at most `PER_MINUTE` queries
per address per minute (429 past that; behind a proxy on this machine, the address in its X-Real-IP); a query
of more than `MAX_QUERY` characters is cut.
"""

from __future__ import annotations

import asyncio
import ipaddress
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from aiohttp import web

from bot.sorting.answers import answer_variables
from bot.sorting.normalize import light
from bot.sorting.question import items_asked
from bot.store.sorting import NewQuestion, QuestionStatus
from bot.web.console import Console
from bot.web.render import html, page
from bot.web.security import CONSOLE_KEY

PER_MINUTE: Final = 20
MAX_QUERY: Final = 60
MAX_ADDRESSES: Final = 10_000  # memory bound: past this, the oldest addresses are forgotten


@dataclass
class RateLimit:
    """At most `limit` hits per address within `window` (a sliding window over the injected clock's time)."""

    limit: int = PER_MINUTE
    window: timedelta = timedelta(minutes=1)
    _hits: dict[str, deque[datetime]] = field(default_factory=dict)

    def allow(self, address: str, now: datetime) -> bool:
        hits = self._hits.pop(address, None) or deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        allowed = len(hits) < self.limit
        if allowed:
            hits.append(now)
        self._hits[address] = hits  # re-inserted last: dict order is the eviction order
        while len(self._hits) > MAX_ADDRESSES:
            del self._hits[next(iter(self._hits))]
        return allowed


LIMIT_KEY: Final = web.AppKey("lookup_limit", RateLimit)


def client_address(request: web.Request) -> str:
    """Who is asking: the peer, or behind a reverse proxy on this machine (peer on loopback) the address the proxy
    puts in X-Real-IP. The header is trusted only from loopback: anyone else could write any address there."""
    peer = request.remote or "?"
    try:
        local = ipaddress.ip_address(peer).is_loopback
    except ValueError:
        local = False
    forwarded = request.headers.get("X-Real-IP", "").strip()
    return forwarded[:64] if local and forwarded else peer


def _lookup(console: Console, address: str, query: str) -> dict[str, Any] | None:
    """Look up and file the items `query` asks about; the answer's variables, or None if it names no item."""
    answers = console.sorting
    if answers is None:
        return None
    asked = items_asked(query, to_bot=True)
    if not asked:
        return None
    dictionary = answers.dictionary()
    now = console.clock.now()
    message_id = f"web/{uuid.uuid4().hex}"
    rows = []
    for part, words in enumerate(asked):
        match = dictionary.lookup(words)
        rows.append(
            NewQuestion(
                message_id=message_id,
                part=part,
                asked=words,
                item_key=match.item.name if match else f"?{light(words) or words}",
                matched=match.item.name if match else None,
                category=match.item.category.value if match else None,
                sender=f"web:{address}",
                sender_name="网页查询",
                group_id="",
                asked_at=now,
            )
        )
    filed = answers.questions.file(rows, QuestionStatus.ANSWERED, now)
    return answer_variables(dictionary, "", filed or [])


async def lookup_page(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    query = request.query.get("w", "").strip()[:MAX_QUERY]
    view: dict[str, Any] = {
        "town": console.current().campaign.town.name,
        "query": query,
        "result": None,
        "empty": False,
        "busy": False,
    }
    if query:
        limit = request.app.get(LIMIT_KEY)
        address = client_address(request)
        if limit is not None and not limit.allow(address, console.clock.now()):
            return html(page("lookup.html", **{**view, "busy": True}), status=429)
        result = await asyncio.to_thread(_lookup, console, address, query)
        view.update(result=result, empty=result is None)
    return html(await asyncio.to_thread(page, "lookup.html", **view))
