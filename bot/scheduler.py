"""The only module that knows APScheduler (3.11). It turns the plan into timed jobs and keeps them in step with
the town's files while running.

Contracts:
- One job per planned key (`replace_existing`), so a reload or a restart never registers a job twice; the store's
  claim makes a second firing harmless anyway.
- On start, past jobs not yet settled in the store run late if they are within the grace period (deferred past quiet
  hours), and are recorded MISSED and reported to the admins if older. Jobs from before this store's first start
  are the town's history, not ours: they are counted in the log, not reported as missed.
- A broken edit of the files keeps the running plan and reports the problems to the admins, once per distinct error.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from bot.clock import RealTimeClock
from bot.config.campaign import LoadedCampaign, Sources
from bot.core.model import QuietHours
from bot.core.planner import Plan, PlannedJob
from bot.core.render import format_instant
from bot.errors import ConfigError
from bot.pipeline import Pipeline, job_label

log = logging.getLogger(__name__)

RELOAD_JOB = "laba:reload"
PREPARE = "prepare:"  # id prefix of the step that produces a broadcast job's clips ahead of delivery
ALERTS_JOB = "laba:alerts"


class CampaignHolder:
    """The campaign in force. Swapped whole on a good reload; readers always see one consistent version."""

    def __init__(self, loaded: LoadedCampaign) -> None:
        self._loaded = loaded
        self._by_key = loaded.plan.by_key()

    def get(self) -> LoadedCampaign:
        return self._loaded

    def job(self, key: str) -> PlannedJob | None:
        return self._by_key.get(key)

    def swap(self, loaded: LoadedCampaign) -> None:
        self._loaded = loaded
        self._by_key = loaded.plan.by_key()


def after_quiet(at: datetime, quiet: QuietHours) -> datetime:
    """`at`, or the end of the quiet hours it falls in."""
    if not quiet.contains(at.time()):
        return at
    end = datetime.combine(at.date(), quiet.end, tzinfo=at.tzinfo)
    return end if end > at else end + timedelta(days=1)


class CampaignScheduler:
    def __init__(
        self,
        holder: CampaignHolder,
        pipeline: Pipeline,
        clock: RealTimeClock,
        load: Callable[[Sources], LoadedCampaign],
        *,
        reload_seconds: float = 5.0,
        stale_after: timedelta = timedelta(minutes=15),
    ) -> None:
        self.holder = holder
        self.pipeline = pipeline
        self.clock = clock
        self._load = load
        self._reload_seconds = reload_seconds
        self._stale_after = stale_after
        self._known: set[str] = set()
        self._fingerprint = holder.get().sources.fingerprint()
        self._last_error = ""
        self._tasks: set[asyncio.Task[None]] = set()
        self._fire_at: dict[str, datetime] = {}
        self._done_callbacks: list[Callable[[str], None]] = []
        self._scheduler = AsyncIOScheduler(timezone=clock.zone)
        self._scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED)

    @property
    def grace(self) -> timedelta:
        return self.holder.get().campaign.rules.misfire_grace

    async def start(self) -> None:
        loaded = self.holder.get()
        now = self.clock.now()
        store = self.pipeline.store
        self._service_start = store.service_started_at(loaded.campaign.town.id, now)
        stale = store.stale_claims(now - self._stale_after)
        resolved = []
        for rec in stale:
            if store.resolve_stale(rec.job_key, rec.target, now, "发送中途程序停止，无法确认是否送达"):
                resolved.append(self._describe(rec.job_key, rec.target))
        self._scheduler.start()
        await self.pipeline.report_unconfirmed(resolved)
        await self._apply(loaded.plan, startup=True)
        self._scheduler.add_job(
            self.check_for_edits,
            "interval",
            seconds=self._reload_seconds,
            id=RELOAD_JOB,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
        self._scheduler.add_job(
            self._flush_alerts,
            "interval",
            seconds=60,
            id=ALERTS_JOB,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )

    def _describe(self, key: str, target_id: str) -> tuple[str, str]:
        """(what, to whom) as the admins say it, for a delivery known only by its keys."""
        job = self.holder.job(key)
        if job is None:
            return key, target_id
        names = {t.id: t.name for t in job.targets}
        return job_label(job), names.get(target_id, target_id)

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def pending(self) -> list[tuple[str, datetime]]:
        """Planned jobs still waiting, as (key, when it will fire on the bot's clock), soonest first."""
        waiting = {job.id for job in self._scheduler.get_jobs()}
        return sorted(((k, at) for k, at in self._fire_at.items() if k in waiting), key=lambda kv: (kv[1], kv[0]))

    def on_job_done(self, callback: Callable[[str], None]) -> None:
        """Call `callback(key)` after each planned job has run (whatever its outcomes)."""
        self._done_callbacks.append(callback)

    async def _apply(self, plan: Plan, *, startup: bool) -> None:
        now = self.clock.now()
        keys = {j.key for j in plan.jobs}
        for job in self._scheduler.get_jobs():
            if job.id not in (RELOAD_JOB, ALERTS_JOB) and job.id.removeprefix(PREPARE) not in keys:
                job.remove()
                self._fire_at.pop(job.id, None)
                log.info("计划里已没有这项任务，取消：%s", job.id)
        past = [j for j in plan.jobs if j.at <= now and (startup or j.key not in self._known)]
        settled = {(d.job_key, d.target) for d in self.pipeline.store.deliveries(frozenset(j.key for j in past))}
        late: list[PlannedJob] = []
        missed: list[PlannedJob] = []
        before_service = 0
        for job in past:
            if all((job.key, t.id) in settled for t in job.targets):
                continue
            if job.at < self._service_start:
                before_service += 1
            elif now - job.at <= self.grace:
                late.append(job)
            else:
                missed.append(job)
        if before_service:
            log.info(
                "%d 项任务早于本数据库第一次启动（%s），不补发也不报漏发",
                before_service,
                format_instant(self._service_start),
            )
        for job in missed:
            self.pipeline.record_missed(
                job, f"程序停止期间错过（超过补发时限 {int(self.grace.total_seconds() // 60)} 分钟）"
            )
            log.warning("漏发：%s（原定 %s）", job_label(job), format_instant(job.at))
        await self.pipeline.report_missed(missed, self.grace)
        quiet = self.holder.get().campaign.rules.quiet_hours
        for job in late:
            run_at = after_quiet(now, quiet)
            log.warning("补发：%s（原定 %s），%s 发出", job_label(job), format_instant(job.at), format_instant(run_at))
            self._add(job.key, run_at)
        for job in plan.jobs:
            if job.at > now:
                self._add(job.key, job.at)
            if job.broadcast is not None and job.broadcast.produce_at > now and job.at > now:
                self._scheduler.add_job(
                    self._prepare,
                    DateTrigger(run_date=self.clock.to_real(job.broadcast.produce_at), timezone=self.clock.zone),
                    args=[job.key],
                    id=PREPARE + job.key,
                    name=PREPARE + job.key,
                    replace_existing=True,
                    # Producing late is still useful until the delivery itself, which produces on demand anyway.
                    misfire_grace_time=max(1, int((job.at - job.broadcast.produce_at).total_seconds())),
                    coalesce=True,
                    max_instances=1,
                )
        self._known = keys

    def _add(self, key: str, at: datetime) -> None:
        self._fire_at[key] = at
        self._scheduler.add_job(
            self._fire,
            DateTrigger(run_date=self.clock.to_real(at), timezone=self.clock.zone),
            args=[key],
            id=key,
            name=key,
            replace_existing=True,
            misfire_grace_time=int(self.grace.total_seconds()),
            coalesce=True,
            max_instances=1,
        )

    async def _fire(self, key: str) -> None:
        job = self.holder.job(key)
        if job is None:
            log.warning("任务 %s 到点了，但计划里已经没有它，不发", key)
            return
        try:
            await self.pipeline.run_job(job)
        except Exception:
            # The store still holds which targets were claimed; a restart picks up the rest within the grace.
            log.exception("任务 %s 出错了", key)
        finally:
            self._fire_at.pop(key, None)
            for callback in self._done_callbacks:
                callback(key)

    async def _prepare(self, key: str) -> None:
        job = self.holder.job(key)
        if job is None:
            return
        try:
            clips = await self.pipeline.prepare(job)
            log.info("提前做好 %d 段广播音频：%s", len(clips), key)
        except Exception:
            log.exception("提前制作广播音频出错（%s），到发送时再做", key)

    def _on_missed(self, event: JobExecutionEvent) -> None:
        if event.job_id.startswith(PREPARE):
            return
        job = self.holder.job(event.job_id)
        if job is None:
            return
        self.pipeline.record_missed(job, "错过发送时间（超过补发时限）")
        self._spawn(self.pipeline.report_missed([job], self.grace))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush_alerts(self) -> None:
        quiet = self.holder.get().campaign.rules.quiet_hours
        if self.pipeline.deferred_alerts and not quiet.contains(self.clock.now().time()):
            await self.pipeline.flush_alerts()

    async def check_for_edits(self) -> bool:
        """Reload if any file changed. True if a new plan went live."""
        sources = self.holder.get().sources
        fingerprint = sources.fingerprint()
        if fingerprint == self._fingerprint:
            return False
        self._fingerprint = fingerprint
        try:
            loaded = self._load(sources)
        except ConfigError as exc:
            text = str(exc)
            log.error("改过的文件有错，仍按原来的计划运行：\n%s", text)
            if text != self._last_error:
                self._last_error = text
                await self.pipeline.alert(
                    "alert_plan_error",
                    f"alert/plan_error/{self.clock.now():%Y%m%d}/{hashlib.sha256(text.encode()).hexdigest()[:12]}",
                    {"problems": [str(p) for p in exc.problems]},
                )
            return False
        self._last_error = ""
        self.holder.swap(loaded)
        await self._apply(loaded.plan, startup=False)
        log.info("已重新读取计划：共 %d 项任务", len(loaded.plan.jobs))
        return True
