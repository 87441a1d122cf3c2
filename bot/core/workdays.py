"""Which days the offices are open: China's statutory calendar, 调休 included, plus the town's own overrides."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, timedelta

import chinese_calendar

from bot.core.model import CalendarOverrides, WorkdayPolicy

WEEKDAYS_CN = "一二三四五六日"


@dataclass(frozen=True)
class WorkCalendar:
    overrides: CalendarOverrides = field(default_factory=CalendarOverrides)

    def knows(self, year: int) -> bool:
        """True if the statutory table has this year (else Monday–Friday is assumed, and the planner warns)."""
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            return False
        return True

    def is_workday(self, day: date) -> bool:
        if day in self.overrides.extra_holidays:
            return False
        if day in self.overrides.extra_workdays:
            return True
        statutory = _statutory_workday(day)
        return day.weekday() < 5 if statutory is None else statutory

    def settle(self, day: date, policy: WorkdayPolicy) -> date:
        """Move `day` onto a workday: `next` forwards, `previous` backwards, `any` leaves it."""
        if policy == "any":
            return day
        step = timedelta(days=1 if policy == "next" else -1)
        # The longest run of statutory days off is 9 (春节 with adjacent weekends); 31 bounds a bad override list.
        for _ in range(31):
            if self.is_workday(day):
                return day
            day += step
        raise ValueError(f"no workday within 31 days of {day}: check calendar.extra_holidays")


@functools.cache
def _statutory_workday(day: date) -> bool | None:
    """The statutory answer, or None for a year the table doesn't know. Cached: the table is scanned per call."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


def weekday_cn(day: date) -> str:
    return "周" + WEEKDAYS_CN[day.weekday()]
