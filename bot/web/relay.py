"""代发: messages the bot could not deliver, to copy and forward by hand; 已转发 records who did it and when.

Two lists: the relay queue (`bot.store.relay`, what the routes handed to a person: `laba relay` lists the same), whose
已转发 closes an item through `RelayQueue.done` exactly as `laba relay done` does, so a forwarded item leaves both;
and every planned delivery that failed for good (FAILED, or maybe sent), with its text rendered again exactly as the
pipeline renders it, marked forwarded in the console's own records.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from bot.core.render import TemplateError
from bot.pipeline import job_label
from bot.store.base import DeliveryStatus
from bot.store.relay import RelayQueue
from bot.web.console import Console
from bot.web.render import console_page, tell
from bot.web.security import CONSOLE_KEY, session_of

WAITING = (DeliveryStatus.FAILED, DeliveryStatus.UNCONFIRMED)


@dataclass(frozen=True)
class Waiting:
    job_key: str
    target_id: str
    target: str
    label: str
    at: datetime
    text: str
    error: str
    forwarded: str  # "冉晓燕 11-02 09:30" once forwarded


def waiting(console: Console) -> list[Waiting]:
    loaded = console.current()
    by_key = loaded.plan.by_key()
    forwards = console.web.forwarded()
    out = []
    for record in console.store.deliveries():
        job = by_key.get(record.job_key)
        if record.status not in WAITING or job is None:
            continue
        target = next((t for t in job.targets if t.id == record.target), None)
        if target is None:
            continue
        try:
            text = loaded.renderer.render(job, target, console.pipeline.facts_for(job))
        except TemplateError as exc:
            text = f"（消息无法生成：{exc}）"
        done = forwards.get((job.key, target.id))
        who = f"{done.by} {done.at:%m-%d %H:%M}" if done else ""
        out.append(Waiting(job.key, target.id, target.name, job_label(job), job.at, text, record.detail, who))
    return sorted(out, key=lambda w: (bool(w.forwarded), w.at))


async def relay(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    queued = await asyncio.to_thread(RelayQueue(console.store).waiting)
    rows = await asyncio.to_thread(waiting, console)
    return await console_page(request, "relay.html", {"queued": queued, "rows": rows})


async def queue_done(request: web.Request) -> web.Response:
    """已转发 on a relay-queue item: `RelayQueue.done`, as `laba relay done ID --by NAME`; logged as every console
    change is. Pressing it twice (two phones) changes nothing the second time."""
    console = request.app[CONSOLE_KEY]
    form = await request.post()
    raw = str(form.get("id", ""))
    if not raw.isdigit():
        raise tell("/relay", "没找到这条消息，请刷新页面再试。")
    by = session_of(request).user_id
    now = console.clock.now()

    def record() -> str:
        marked, earlier, _ = RelayQueue(console.store).done([int(raw)], by, now)
        for item_id in marked:
            console.evidence.log(actor=by, action="relay_done", subject=f"relay:{item_id}", detail="", at=now)
        if marked:
            return f"已记下：#{raw} 已手动转发。"
        return f"#{raw} 早已记过转发，没有改动。" if earlier else f"没有 #{raw} 这条消息，请刷新页面再看。"

    raise tell("/relay", await asyncio.to_thread(record))


async def forwarded(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    form = await request.post()
    job_key, target = str(form.get("job_key", "")), str(form.get("target", ""))
    by = session_of(request).user_id
    now = console.clock.now()

    def record() -> None:
        if console.web.forward(job_key, target, by, now):
            console.evidence.log(
                actor=by, action="forwarded", subject=f"delivery:{job_key}>{target}", detail="", at=now
            )

    await asyncio.to_thread(record)
    raise tell("/relay", "已记下：这条消息已手动转发。")
