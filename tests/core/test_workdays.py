"""WorkCalendar: the statutory table (调休 included), the town's overrides, and Monday–Friday for unknown years."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.core.model import CalendarOverrides, WorkdayPolicy
from bot.core.workdays import WorkCalendar, weekday_cn

CAL = WorkCalendar()


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        (date(2024, 2, 4), True),  # Sunday, 调休 for 春节
        (date(2024, 2, 18), True),  # Sunday, 调休 for 春节
        (date(2024, 2, 12), False),  # Monday in 春节
        (date(2024, 4, 7), True),  # Sunday, 调休 for 清明
        (date(2024, 4, 4), False),  # Thursday, 清明
        (date(2024, 5, 1), False),  # Wednesday, 劳动节
        (date(2024, 5, 11), True),  # Saturday, 调休 for 劳动节
        (date(2024, 5, 18), False),  # a plain Saturday
        (date(2024, 5, 19), False),  # a plain Sunday
        (date(2024, 5, 20), True),  # a plain Monday
        (date(2024, 10, 12), True),  # Saturday, 调休 for 国庆
        (date(2024, 10, 8), True),
    ],
)
def test_is_workday_follows_the_statutory_table(day: date, workday: bool) -> None:
    assert CAL.is_workday(day) is workday


def test_national_day_week_is_off() -> None:
    assert [CAL.is_workday(date(2024, 10, d)) for d in range(1, 8)] == [False] * 7


@pytest.mark.parametrize(
    ("day", "policy", "expected"),
    [
        (date(2024, 10, 1), "next", date(2024, 10, 8)),
        (date(2024, 10, 1), "previous", date(2024, 9, 30)),
        (date(2024, 10, 7), "previous", date(2024, 9, 30)),
        (date(2024, 10, 1), "any", date(2024, 10, 1)),
        (date(2024, 5, 1), "next", date(2024, 5, 6)),
        (date(2024, 2, 10), "next", date(2024, 2, 18)),  # 春节 ends on the 调休 Sunday
        (date(2024, 5, 11), "next", date(2024, 5, 11)),  # a workday Saturday stays
        (date(2024, 5, 11), "previous", date(2024, 5, 11)),
        (date(2024, 5, 18), "next", date(2024, 5, 20)),
        (date(2024, 5, 18), "previous", date(2024, 5, 17)),
        (date(2024, 5, 19), "any", date(2024, 5, 19)),
    ],
)
def test_settle(day: date, policy: WorkdayPolicy, expected: date) -> None:
    assert CAL.settle(day, policy) == expected


def test_knows_the_years_of_the_table_only() -> None:
    assert CAL.knows(2024)
    assert not CAL.knows(2031)


def test_unknown_year_is_monday_to_friday() -> None:
    week = [date(2031, 1, 1) + timedelta(days=i) for i in range(7)]  # Wednesday 1 January to Tuesday 7 January
    assert [CAL.is_workday(d) for d in week] == [d.weekday() < 5 for d in week]
    assert CAL.is_workday(date(2031, 1, 1))  # New Year's Day: the table would know better, Mon–Fri doesn't
    assert CAL.settle(date(2031, 2, 1), "next") == date(2031, 2, 3)


def test_overrides_beat_the_table_and_the_weekday_rule() -> None:
    cal = WorkCalendar(
        CalendarOverrides(
            extra_holidays=(date(2024, 5, 20), date(2031, 1, 1)),
            extra_workdays=(date(2024, 5, 18), date(2031, 2, 1)),
        )
    )
    assert not cal.is_workday(date(2024, 5, 20))
    assert cal.is_workday(date(2024, 5, 18))
    assert not cal.is_workday(date(2031, 1, 1))
    assert cal.is_workday(date(2031, 2, 1))
    assert cal.settle(date(2024, 5, 19), "next") == date(2024, 5, 21)
    assert cal.settle(date(2024, 5, 19), "previous") == date(2024, 5, 18)
    assert cal.settle(date(2031, 1, 1), "next") == date(2031, 1, 2)


def test_settle_gives_up_after_a_month_without_workdays() -> None:
    start = date(2031, 3, 1)
    cal = WorkCalendar(CalendarOverrides(extra_holidays=tuple(start + timedelta(days=i) for i in range(40))))
    with pytest.raises(ValueError, match="no workday within 31 days"):
        cal.settle(start, "next")


def test_weekday_cn() -> None:
    assert [weekday_cn(date(2024, 5, 20) + timedelta(days=i)) for i in range(7)] == [
        "周一",
        "周二",
        "周三",
        "周四",
        "周五",
        "周六",
        "周日",
    ]
