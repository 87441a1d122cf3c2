"""今天 / 近期: what goes out today and in the next days, per job and target, with its route and status; problems
first, each with what to do. And the pause switch."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Final

from aiohttp import web

from bot.core.planner import PlannedJob, Target
from bot.pipeline import job_label
from bot.store.base import DeliveryRecord, DeliveryStatus
from bot.store.web import Forwarded
from bot.web.console import Console
from bot.web.render import console_page, tell
from bot.web.security import CONSOLE_KEY, session_of

DAYS: Final = 3
STALE_SENDING: Final = timedelta(minutes=10)

# (status word, css class, what to do): the order of the problems on the page follows `PROBLEM_ORDER`.
FAILED: Final = (
    "失败",
    "bad",
    "发送失败。请检查微信是否在线；到「代发」页复制这条消息，手动转发到群里，再点「已转发」。",
)
MAYBE: Final = ("可能已发", "warn", "不确定是否发出。请到群里看一眼：没收到的话，到「代发」页复制后手动转发。")
MISSED: Final = ("错过", "warn", "程序没运行时过了发送时间，没有补发。需要的话手动发一条。")
PROBLEM_ORDER: Final = ("失败", "可能已发", "错过")


@dataclass(frozen=True)
class Row:
    at: datetime
    label: str
    target: str
    route: str
    status: str
    css: str
    hint: str
    job_key: str


def row_status(record: DeliveryRecord | None, forwarded: Forwarded | None, now: datetime) -> tuple[str, str, str]:
    if forwarded is not None:
        return "代发", "ok", f"{forwarded.by} 于 {forwarded.at:%m-%d %H:%M} 手动转发"
    if record is None:
        return "待发", "wait", ""
    status = record.status
    if status is DeliveryStatus.SENT:
        return "已发", "ok", ""
    if status is DeliveryStatus.FAILED:
        return FAILED
    if status is DeliveryStatus.UNCONFIRMED or (
        status is DeliveryStatus.SENDING and now - record.updated_at > STALE_SENDING
    ):
        return MAYBE
    if status is DeliveryStatus.MISSED:
        return MISSED
    if status is DeliveryStatus.SKIPPED:
        return "不用发", "muted", record.detail
    return "发送中", "wait", ""


def build_rows(
    jobs: list[PlannedJob],
    records: dict[tuple[str, str], DeliveryRecord],
    forwards: dict[tuple[str, str], Forwarded],
    route: str,
    now: datetime,
) -> list[Row]:
    rows = []
    for job in jobs:
        label = job_label(job)
        for t in job.targets:
            forwarded = forwards.get((job.key, t.id))
            status, css, hint = row_status(records.get((job.key, t.id)), forwarded, now)
            shown_route = "人工转发" if forwarded else route
            rows.append(Row(job.at, label, _name(t), shown_route, status, css, hint, job.key))
    return rows


def _name(target: Target) -> str:
    return target.name


def today_view(console: Console) -> dict[str, object]:
    now = console.clock.now()
    loaded = console.current()
    start = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    upcoming = loaded.plan.between(start, start + timedelta(days=DAYS))
    records = {(r.job_key, r.target): r for r in console.store.deliveries()}
    forwards = console.web.forwarded()
    by_key = loaded.plan.by_key()
    past = {k: by_key[k] for k, _ in records if k in by_key and by_key[k].at < start}
    earlier = sorted(past.values(), key=lambda j: j.at)
    rows = build_rows(list(upcoming), records, forwards, console.route, now)
    old = [r for r in build_rows(earlier, records, forwards, console.route, now) if r.status in PROBLEM_ORDER]
    problems = sorted(
        old + [r for r in rows if r.status in PROBLEM_ORDER], key=lambda r: (PROBLEM_ORDER.index(r.status), r.at)
    )
    days = []
    for offset in range(DAYS):
        day = (start + timedelta(days=offset)).date()
        days.append((day, [r for r in rows if r.at.date() == day and r.status not in PROBLEM_ORDER]))
    return {"now": now, "problems": problems, "days": days, "paused": console.paused()}


async def today(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    return await console_page(request, "today.html", await asyncio.to_thread(today_view, console))


async def pause(request: web.Request) -> web.Response:
    return await _switch(request, True)


async def resume(request: web.Request) -> web.Response:
    return await _switch(request, False)


async def _switch(request: web.Request, paused: bool) -> web.Response:
    console = request.app[CONSOLE_KEY]
    await asyncio.to_thread(console.set_paused, paused, session_of(request).user_id)
    raise tell("/today", "已暂停发送计划消息。到时间的消息会等着，恢复后补发。" if paused else "已恢复发送。")
