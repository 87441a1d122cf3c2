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
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from bot.clock import TOWN_ZONE, RealTimeClock
from bot.config.campaign import LoadedCampaign, Sources
from bot.core.alert_kinds import PLAN_ERROR
from bot.core.planner import Plan, PlannedJob
from bot.core.render import format_instant
from bot.errors import ConfigError
from bot.pipeline import Outcome, Pipeline, job_label
from bot.recovery import HEARTBEAT_SECONDS, recover
from bot.resumption import RESUME_BACKOFF, after_quiet, give_up, resume_at, say_resuming, still_open
from bot.store.base import DeliveryRecord, Store

log = logging.getLogger(__name__)

RELOAD_JOB = "laba:reload"
PREPARE = "prepare:"  # id prefix of the step that produces a broadcast job's clips ahead of delivery
ALERTS_JOB = "laba:alerts"
SWEEP_JOB = "laba:sweep"
HOUSEKEEPING = (RELOAD_JOB, ALERTS_JOB, SWEEP_JOB)


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


class CampaignScheduler:
    def __init__(
        self,
        holder: CampaignHolder,
        pipeline: Pipeline,
        clock: RealTimeClock,
        load: Callable[[Sources], LoadedCampaign],
        *,
        reload_seconds: float = 5.0,
        sweep_seconds: float = HEARTBEAT_SECONDS,
        resume_backoff: tuple[timedelta, ...] = RESUME_BACKOFF,
        watch: Sources | None = None,
        keep: Callable[[Store, Sources, datetime], None] | None = None,
    ) -> None:
        self.holder = holder
        self.pipeline = pipeline
        self.clock = clock
        self._load = load
        self._reload_seconds = reload_seconds
        self._sweep_seconds = sweep_seconds
        self._resume_backoff = resume_backoff
        self._running: dict[str, asyncio.Task[None]] = {}
        self._resumes: dict[str, int] = {}
        self._known: set[str] = set()
        # The files to watch: the town's own, even while the last good plan runs because they are broken.
        self._watch = watch or holder.get().sources
        self._keep = keep
        self._fingerprint = self._watch.fingerprint()
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
        # Claims of runners that stopped: released ones are unsettled again and picked up by `_apply` below.
        found = recover(store, self.pipeline.runner, self.pipeline.wall(), now)
        self._scheduler.start()
        await self.pipeline.report_unconfirmed([self._describe(r.job_key, r.target) for r in found.unconfirmed])
        await self._apply(loaded.plan, startup=True)
        for job_id, call, seconds in (
            (RELOAD_JOB, self.check_for_edits, self._reload_seconds),
            (ALERTS_JOB, self._flush_alerts, 60.0),
            (SWEEP_JOB, self.sweep, self._sweep_seconds),
        ):
            self._scheduler.add_job(
                call, "interval", seconds=seconds, id=job_id, replace_existing=True, coalesce=True, max_instances=1
            )

    async def sweep(self) -> None:
        """Say this runner is alive, and decide the claims of runners that stopped: those that never left are
        sent again (within the grace) or recorded missed; those that may have left are reported."""
        try:
            found = recover(self.pipeline.store, self.pipeline.runner, self.pipeline.wall(), self.clock.now())
        except Exception:
            log.exception("检查已停止的程序留下的发送记录时出错（数据库？），稍后再试")
            return
        await self.pipeline.report_unconfirmed([self._describe(r.job_key, r.target) for r in found.unconfirmed])
        jobs = [j for j in (self.holder.job(k) for k in sorted({r.job_key for r in found.released})) if j]
        if jobs:
            await self._triage(jobs, self.clock.now())

    def _describe(self, key: str, target_id: str) -> tuple[str, str]:
        return self.pipeline.describe(key, target_id)

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def stop(self, wait_seconds: float = 20.0) -> None:
        """A graceful stop (SIGTERM): fire nothing more, claim nothing more, let the messages already on the wire be
        answered (at most `wait_seconds`), then cancel the deliveries still waiting to be sent; those are recorded
        RELEASED and sent by the next start within the grace period."""
        self.shutdown()
        await self.pipeline.stop(wait_seconds)
        running = list(self._running.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

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
            if job.id not in HOUSEKEEPING and job.id.removeprefix(PREPARE) not in keys:
                job.remove()
                self._fire_at.pop(job.id, None)
                log.info("计划里已没有这项任务，取消：%s", job.id)
        # Past jobs with targets still unsettled: on start all of them; on a reload also those that already fired
        # but gained targets (a unit added to the plan), except while they are running.
        past = [j for j in plan.jobs if j.at <= now and j.key not in self._running]
        await self._triage(past, now, added=not startup)
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

    async def _triage(self, past: list[PlannedJob], now: datetime, *, added: bool = False) -> None:
        """Past jobs with unsettled targets: run late within the grace (after quiet hours), else record the
        unsettled targets MISSED and tell the admins which. Jobs from before the store's first start are history.
        `added`: the unsettled targets came with an edit of the plan (a unit added after its jobs went out): too old
        ones are recorded MISSED with that reason, not reported as a stoppage the admins need to hear of."""
        records: dict[str, list[DeliveryRecord]] = defaultdict(list)  # one read for every past job
        for record in self.pipeline.store.deliveries(frozenset(j.key for j in past)):
            records[record.job_key].append(record)
        late: list[PlannedJob] = []
        missed: list[tuple[PlannedJob, list[Outcome]]] = []
        before_service = 0
        for job in past:
            if not self.pipeline.unsettled(job, records[job.key]):
                continue
            if job.at < self._service_start:
                before_service += 1
            elif now - job.at <= self.grace:
                late.append(job)
            elif added:
                self.pipeline.record_missed(job, "计划修改前这项消息已经发出，后来加入的单位不再补发")
                log.info("后来加入的单位不补发：%s（原定 %s）", job_label(job), format_instant(job.at))
            else:
                missed.append((job, self.pipeline.record_missed(job, f"程序停止期间错过（超过补发时限 {self.grace}）")))
                log.warning("漏发：%s（原定 %s）", job_label(job), format_instant(job.at))
        if before_service:
            log.info(
                "%d 项任务早于本数据库第一次启动（%s），不补发也不报漏发",
                before_service,
                format_instant(self._service_start.astimezone(TOWN_ZONE)),  # a clerk reads it: no ISO, no µs
            )
        await self.pipeline.report_missed(missed, self.grace)
        quiet = self.holder.get().campaign.rules.quiet_hours
        for job in late:
            run_at = after_quiet(now, quiet)
            log.warning("补发：%s（原定 %s），%s 发出", job_label(job), format_instant(job.at), format_instant(run_at))
            self._add(job.key, run_at)

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
        task = asyncio.current_task()
        if task is not None:
            self._running[key] = task
        try:
            await self.pipeline.run_job(job)
            await self._follow_up(job)
        except asyncio.CancelledError:
            log.warning("任务 %s 随程序停止而中断，下次启动时补发没发的", key)
        except Exception:
            # The store still holds which targets were claimed; the follow-up resumes the rest.
            log.exception("任务 %s 出错了", key)
            await self._follow_up(job)
        finally:
            self._running.pop(key, None)
            self._fire_at.pop(key, None)
            for callback in self._done_callbacks:
                callback(key)

    async def _follow_up(self, job: PlannedJob) -> None:
        """After a run: targets left unsettled (an outage) are resumed with backoff while inside the grace period,
        and recorded missed and reported after it. Nothing is left unsettled silently."""
        if self.pipeline.stopping:
            return
        left = still_open(self.pipeline, job)
        if not left:
            self._resumes.pop(job.key, None)
            return
        count = self._resumes.get(job.key, 0)
        quiet = self.holder.get().campaign.rules.quiet_hours
        run_at = resume_at(job.at, self.clock.now(), count, self.grace, quiet, self._resume_backoff)
        if run_at is not None:
            self._resumes[job.key] = count + 1
            say_resuming(job, left, run_at)
            self._add(job.key, run_at)
            return
        self._resumes.pop(job.key, None)
        await give_up(self.pipeline, job, self.grace)

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
        outcomes = self.pipeline.record_missed(job, "错过发送时间（超过补发时限）")
        self._spawn(self.pipeline.report_missed([(job, outcomes)], self.grace))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush_alerts(self) -> None:
        await self.pipeline.flush_alerts()  # a no-op in quiet hours, and when nothing was kept over them

    async def check_for_edits(self) -> bool:
        """Reload if any file changed. True if a new plan went live."""
        sources = self._watch
        fingerprint = sources.fingerprint()
        if fingerprint == self._fingerprint:
            return False
        self._fingerprint = fingerprint
        try:
            loaded = self._load(sources)
        except ConfigError as exc:
            log.error("改过的文件有错，仍按原来的计划运行：\n%s", exc)
            await self.report_broken(exc)
            return False
        self._last_error = ""
        self.holder.swap(loaded)
        if self._keep is not None:
            try:
                self._keep(self.pipeline.store, sources, self.clock.now())
            except Exception:
                log.exception("新计划没能存为“上次检查无误的计划”")
        await self._apply(loaded.plan, startup=False)
        log.info("已重新读取计划：共 %d 项任务", len(loaded.plan.jobs))
        return True

    async def report_broken(self, exc: ConfigError) -> None:
        """Tell the admins what is wrong with the files, once per distinct error (the running plan stays)."""
        text = str(exc)
        if text == self._last_error:
            return
        self._last_error = text
        key = f"alert/plan_error/{self.clock.now():%Y%m%d}/{hashlib.sha256(text.encode()).hexdigest()[:12]}"
        await self.pipeline.alert(PLAN_ERROR(key, problems=[str(p) for p in exc.problems]))
