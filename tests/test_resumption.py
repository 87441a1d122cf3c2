"""The one rule for trying a cut-off job again, shared by the daemon's scheduler and `simulate`."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import TOWN_ZONE
from bot.core.model import QuietHours
from bot.resumption import RESUME_BACKOFF, after_quiet, resume_at

QUIET = QuietHours()  # 21:00 to 08:00
GRACE = timedelta(hours=1)
JOB_AT = datetime(2024, 5, 17, 10, 0, tzinfo=TOWN_ZONE)


def test_the_waits_grow_and_the_last_repeats() -> None:
    now = JOB_AT
    waits = []
    for resumes in range(6):
        at = resume_at(JOB_AT, now, resumes, GRACE, QUIET)
        assert at is not None
        waits.append(at - now)
        now = at
    assert waits == [*RESUME_BACKOFF, RESUME_BACKOFF[-1], RESUME_BACKOFF[-1]]


def test_a_try_beyond_the_grace_is_none_and_one_just_inside_is_kept() -> None:
    last = RESUME_BACKOFF[-1]
    assert resume_at(JOB_AT, JOB_AT + GRACE - last, 9, GRACE, QUIET) == JOB_AT + GRACE
    assert resume_at(JOB_AT, JOB_AT + GRACE - last + timedelta(seconds=1), 9, GRACE, QUIET) is None


def test_a_try_that_would_fall_in_quiet_hours_waits_for_the_morning() -> None:
    evening = datetime(2024, 5, 17, 20, 59, 50, tzinfo=TOWN_ZONE)
    morning = datetime(2024, 5, 18, 8, 0, tzinfo=TOWN_ZONE)
    assert resume_at(evening, evening, 0, timedelta(hours=12), QUIET) == morning
    assert after_quiet(morning, QUIET) == morning
    assert after_quiet(datetime(2024, 5, 18, 0, 30, tzinfo=TOWN_ZONE), QUIET) == morning
