"""计划: the month's jobs as a calendar, and what `laba check` finds in the files on disk (errors and warnings)."""

from __future__ import annotations

import asyncio
import calendar
import re
from dataclasses import dataclass
from datetime import date

from aiohttp import web

from bot.config.campaign import load
from bot.core.planner import PlannedJob
from bot.errors import ConfigError
from bot.pipeline import job_label
from bot.web.console import Console
from bot.web.render import console_page
from bot.web.security import CONSOLE_KEY


@dataclass(frozen=True)
class Day:
    day: date | None  # None: a blank cell before the 1st or after the last day
    jobs: tuple[tuple[str, str], ...]  # (time, label)


def weeks(jobs: list[PlannedJob], year: int, month: int) -> list[list[Day]]:
    by_day: dict[date, list[tuple[str, str]]] = {}
    for j in jobs:
        by_day.setdefault(j.at.date(), []).append((f"{j.at:%H:%M}", job_label(j)))
    out = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
        out.append([Day(d, tuple(by_day.get(d, ()))) if d.month == month else Day(None, ()) for d in week])
    return out


def plan_view(console: Console, year: int, month: int) -> dict[str, object]:
    loaded = console.current()
    jobs = [j for j in loaded.plan.jobs if (j.at.year, j.at.month) == (year, month)]
    errors: list[str] = []
    warnings = [str(w) for w in loaded.plan.warnings]
    if console.sources is not None:
        try:
            warnings = [str(w) for w in load(console.sources).plan.warnings]
        except ConfigError as exc:
            errors = [str(p) for p in exc.problems]
    prev = (year, month - 1) if month > 1 else (year - 1, 12)
    nxt = (year, month + 1) if month < 12 else (year + 1, 1)
    return {
        "year": year,
        "month": month,
        "weeks": weeks(jobs, year, month),
        "errors": errors,
        "warnings": warnings,
        "prev": f"{prev[0]}-{prev[1]:02d}",
        "next": f"{nxt[0]}-{nxt[1]:02d}",
    }


async def plan(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    now = console.clock.now()
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", request.query.get("month", ""))
    year, month = (int(m[1]), int(m[2])) if m and 1 <= int(m[2]) <= 12 else (now.year, now.month)
    return await console_page(request, "plan.html", await asyncio.to_thread(plan_view, console, year, month))
