"""When a job cut off part-way (a database outage, a transport error) is tried again for the targets it left.

One rule for the daemon's scheduler and for `simulate`: the waits grow (the last repeats) while the job is inside
its grace period, a retry never lands in quiet hours, and beyond the grace the targets left are recorded missed and
reported (never sent late, never left unsettled). `resume_at` is the pure rule; `still_open` and `give_up` are the
two steps around it that both callers take through the pipeline.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Final

from bot.core.model import QuietHours
from bot.core.planner import PlannedJob, Target
from bot.core.render import format_instant
from bot.delivery import Outcome, job_label
from bot.pipeline import Pipeline

log = logging.getLogger(__name__)

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


def still_open(pipeline: Pipeline, job: PlannedJob) -> list[Target]:
    """The targets of `job` without an outcome; all of them when the database can't even be read (each is tried
    again, and those already settled are left alone then)."""
    try:
        return pipeline.unsettled(job)
    except Exception:
        log.exception("读不到任务 %s 的发送记录（数据库？）", job.key)
        return list(job.targets)


def say_resuming(job: PlannedJob, left: list[Target], at: datetime) -> None:
    log.warning("%s 还有 %d 个群/人没发完，%s 接着发", job_label(job), len(left), format_instant(at))


async def give_up(pipeline: Pipeline, job: PlannedJob, grace: timedelta) -> list[Outcome]:
    """Past the grace: the targets left are recorded missed (a delivery cut off here is released first, so it is
    among them) and the admins told. If the database still can't be written they stay unsettled, and the next
    start finds them past the grace and records them; returns [] then."""
    try:
        await pipeline.recover_interrupted()
        missed = pipeline.record_missed(job, "多次重试仍未发出（超过补发时限）")
    except Exception:
        log.exception("现在记不下任务 %s 的漏发，下次启动时再记", job.key)
        return []
    await pipeline.report_missed([(job, missed)], grace)
    return missed
