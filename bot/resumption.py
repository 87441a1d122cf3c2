"""When a job cut off part-way (a database outage, a transport error) is tried again for the targets it left.

One rule for the daemon's scheduler and for `simulate`: the waits grow (the last repeats) while the job is inside
its grace period, a retry never lands in quiet hours, and beyond the grace the targets left are recorded missed and
reported (never sent late, never left unsettled). Pure: no clock, no store.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from bot.core.model import QuietHours

# A short outage (a database restarting) is ridden out within a minute; a long one is retried every two.
RESUME_BACKOFF: Final = (timedelta(seconds=15), timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2))


def after_quiet(at: datetime, quiet: QuietHours) -> datetime:
    """`at`, or the end of the quiet hours it falls in."""
    if not quiet.contains(at.time()):
        return at
    end = datetime.combine(at.date(), quiet.end, tzinfo=at.tzinfo)
    return end if end > at else end + timedelta(days=1)


def resume_at(
    job_at: datetime,
    now: datetime,
    resumes: int,
    grace: timedelta,
    quiet: QuietHours,
    backoff: tuple[timedelta, ...] = RESUME_BACKOFF,
) -> datetime | None:
    """When to try a job's unsettled targets again after `resumes` earlier tries, or None when that would be
    beyond its grace period (then they are recorded missed)."""
    run_at = now + backoff[min(resumes, len(backoff) - 1)]
    if run_at - job_at > grace:
        return None
    return after_quiet(run_at, quiet)
