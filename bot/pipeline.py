"""The one path a message takes across the adapters: render -> claim -> deliver -> record.

Exactly-once comes from the store: a (job key, target) pair is claimed in a transaction before anything is sent,
and only the claimant sends it. Every target of every job ends in a recorded outcome (sent, failed, missed,
skipped, unconfirmed): nothing is dropped without a trace.

The pipeline delivers; the parts it delegates to each have their own module: the send attempts and their records
(`bot.delivery`), deliveries cut off mid-way (`bot.interrupted`), alerts to the admins (`bot.alerts`) and
broadcast clips (`bot.broadcasting`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.alerts import Alerter
from bot.channels.base import Channel, OutgoingFile
from bot.channels.pacing import SendPriority, send_priority
from bot.clock import Clock
from bot.config.campaign import LoadedCampaign
from bot.core.alert_kinds import Alert
from bot.core.model import JobKind
from bot.core.planner import PlannedJob, Target
from bot.core.render import ProofFacts, TemplateError, required_photos
from bot.delivery import Attempt, Outcome, RelayFailed, RetryPolicy, Send, Sender, Sleep, Stopping, Wire, job_label
from bot.interrupted import Interrupted
from bot.recovery import HEARTBEAT_SECONDS
from bot.reply_limits import ReplyLimits
from bot.store.base import DeliveryRecord, DeliveryStatus, Store
from bot.store.transient import first_line, is_outage

if TYPE_CHECKING:
    from bot.audio.base import Clip, ClipProducer
    from bot.broadcasting import Broadcasts

# Re-exported: callers know these as part of the pipeline's API.
__all__ = ["Outcome", "Pipeline", "PipelineHooks", "RetryPolicy", "Stopping", "job_label"]

log = logging.getLogger(__name__)


def open_targets(job: PlannedJob, records: Iterable[DeliveryRecord], held: set[str]) -> list[Target]:
    """The targets of `job` whose `records` (and cut-off deliveries `held` unrecorded) give them no outcome yet."""
    status = {r.target: r.status for r in records}
    released = DeliveryStatus.RELEASED
    return [t for t in job.targets if status.get(t.id, released) is released or t.id in held]


@dataclass(frozen=True)
class PipelineHooks:
    """The pipeline's optional collaborators, given when it is built (`bot.app.build` gathers them from the relay,
    the quiz and the web console); each left out changes nothing."""

    # Called after each batch (a job's targets, a one-off send): the relay's digest to the relay people.
    batch_done: Callable[[], Awaitable[None]] | None = None
    # Where a delivery goes when every attempt failed (certainly not posted): the relay queue; returns its id.
    relay_failed: RelayFailed | None = None
    # Appended to a message for its target (the web console's upload link in proof requests and chases), or "".
    links: Callable[[PlannedJob, Target], str] | None = None
    # The weekly quiz's counts for a job (`bot.sorting.quiz_replies.quiz_facts`): ProofFacts.quiz.
    quiz_facts: Callable[[PlannedJob], Mapping[str, Any]] | None = None
    # Whether a group's replies reach the bot (False: a robot group); quiz jobs skip the groups that can't answer.
    takes_replies: Callable[[Target], bool] | None = None
    # The public lookup page (BOT_PUBLIC_URL/q) the monthly announcement links to; "" without a public address.
    lookup_url: str = ""


@dataclass
class Pipeline:
    current: Callable[[], LoadedCampaign]
    store: Store
    channel: Channel
    clock: Clock
    runner: str
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Sleep = asyncio.sleep
    # Makes the loudspeaker clips of broadcast jobs; without one, operators get the script to read aloud.
    producer: ClipProducer | None = None
    # What the relay, the quiz and the web console add to deliveries; given here, never set afterwards.
    hooks: PipelineHooks = field(default_factory=PipelineHooks)
    # Set while sending is allowed; an admin's #暂停 clears it. Jobs that fire meanwhile wait, they are not missed.
    _open: asyncio.Event = field(default_factory=asyncio.Event)
    # Shutting down: nothing more is claimed (SIGTERM).
    _stopping: bool = False
    # Troubles the admins were told about, by name, and since when: one alert per episode (`Broadcasts._episode`).
    _episodes: dict[str, datetime] = field(default_factory=dict)
    _wire: Wire = field(default_factory=Wire)
    # Wall-clock time for heartbeats (the campaign clock may be shifted or virtual; liveness is about this process).
    wall: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _last_beat: float = -HEARTBEAT_SECONDS
    # How often people who are not admins are answered; shared by every chat-command handler (issue 13).
    limits: ReplyLimits = field(init=False)
    alerts: Alerter = field(init=False)
    _interrupted: Interrupted = field(init=False)

    def __post_init__(self) -> None:
        self._open.set()
        self.limits = ReplyLimits(self.clock.now)
        self.alerts = Alerter(self.current, self.clock, self._send_alert, self.store.deferred_alerts)
        self._interrupted = Interrupted(self.store, self.clock)

    @property
    def held(self) -> bool:
        return not self._open.is_set()

    def hold(self) -> None:
        """Stop sending planned messages until `resume` (alerts to the admins still go out)."""
        self._open.clear()

    def resume(self) -> None:
        self._open.set()

    def facts_for(self, job: PlannedJob) -> ProofFacts:
        loaded = self.current()
        if job.kind is JobKind.SUMMARY:
            acts = [
                a for p in loaded.campaign.plans if p.year == job.year for a in p.activities if a.month == job.month
            ]
        else:
            acts = [job.activity] if job.activity else []
        quiz = self.hooks.quiz_facts(job) if self.hooks.quiz_facts is not None else {}
        return ProofFacts(
            {a.id: self.store.units_with_proof(a.id, required_photos(loaded.campaign, a)) for a in acts},
            quiz,
            self.hooks.lookup_url if job.kind is JobKind.ANNOUNCE else "",
        )

    async def run_job(self, job: PlannedJob) -> list[Outcome]:
        """Deliver `job` to each of its targets, in order. Safe to call again: settled pairs are left alone.

        Each target is settled on its own: a channel's error on one leaves it unsettled and the others go on; a
        database outage leaves the rest untried (they would meet it too). `unsettled` tells what is left.
        Stops early (without claiming more) once `stop` has begun."""
        await self.recover_interrupted()
        facts = self.facts_for(job)
        outcomes = []
        for target in job.targets:
            if self._stopping:
                break
            try:
                outcomes.append(await self._deliver(job, target, facts))
            except Stopping:
                break
            except Exception as exc:
                if is_outage(exc):  # the next targets would meet it too: the follow-up resumes them all
                    log.warning("数据库暂时用不了（%s）：%s 从 %s 起稍后接着发", first_line(exc), job.key, target.id)
                    break
                log.exception("发送 %s → %s 出错，稍后接着发", job.key, target.id)
        if self.hooks.batch_done is not None:
            await self.hooks.batch_done()
        return outcomes

    def heartbeat(self, *, force: bool = False) -> None:
        """Tell the store this runner is alive (at most every few seconds unless `force`), so that its claims are
        never taken for a stopped runner's."""
        tick = time.monotonic()
        if force or tick - self._last_beat >= HEARTBEAT_SECONDS / 2:
            self.store.heartbeat(self.runner, self.wall())
            self._last_beat = tick

    def unsettled(self, job: PlannedJob, records: Iterable[DeliveryRecord] | None = None) -> list[Target]:
        """Targets of `job` with no outcome yet: no record, one released before the message left, or one cut off
        here whose record the database could not take (`Interrupted`). `records`: the job's, if read already (else
        read now: raises the store's error when the database can't be read)."""
        found = self.store.deliveries(frozenset({job.key})) if records is None else records
        return open_targets(job, found, self._interrupted.held(job.key))

    async def _deliver(self, job: PlannedJob, target: Target, facts: ProofFacts) -> Outcome:
        if job.kind is JobKind.CHASE and job.activity and target.unit in facts.of(job.activity.id):
            return self._settle(job, target, DeliveryStatus.SKIPPED, "该单位已提交材料，不再催交")
        quiz = job.kind in (JobKind.QUIZ, JobKind.QUIZ_ANSWER)
        if quiz and self.hooks.takes_replies is not None and not self.hooks.takes_replies(target):
            return self._settle(job, target, DeliveryStatus.SKIPPED, "这个群由机器人发送，收不到回复，不发每周一题")
        try:
            text = self.current().renderer.render(job, target, facts)
        except TemplateError as exc:
            # check/reload render every job before a plan goes live, so this is a bug, not a clerk's typo.
            log.exception("消息生成失败：%s → %s", job_label(job), target.name)
            return await self._fail_unclaimed(job, target, f"模板渲染失败: {exc}")
        if self.hooks.links is not None:
            text += self.hooks.links(job, target)
        await self._wait_open(job, target)
        self.heartbeat()
        claim = self.store.claim(job.key, target.id, job.at, self.clock.now(), self.runner)
        if claim is None:
            return self._recorded(job.key, target, job.at)
        attempt = Attempt(self.store, self.clock, self._wire, claim)
        try:
            return await self._send_claimed(job, target, facts, text, attempt)
        except BaseException as exc:
            self._interrupted.abandon(attempt, exc)
            raise

    async def _wait_open(self, job: PlannedJob, target: Target) -> None:
        if self._stopping:
            raise Stopping
        if self.held:
            log.info("发送已暂停：%s → %s 等恢复后再发", job.key, target.id)
            await self._open.wait()
        if self._stopping:
            raise Stopping

    async def _send_claimed(
        self, job: PlannedJob, target: Target, facts: ProofFacts, text: str, attempt: Attempt
    ) -> Outcome:
        async def send_message() -> str:
            return await self.channel.send_text(target, text, handoff=attempt.handoff)

        send: Send = send_message
        if job.broadcast is not None:
            # The note says how the operator was served when it was not the clip.
            send, attempt.note = await self._broadcasts().sender(job, target, facts, attempt)
        status, detail = await self._sender().attempts(attempt, send, f"{job.key} → {target.id}", relay=(target, text))
        note = attempt.note if attempt.left_as is not None else ""  # handed to the relay instead: no note
        if status in (DeliveryStatus.SENT, DeliveryStatus.RELAYED):
            log.info("%s %s → %s (%s)", status.value, job.key, target.name, note + detail)
        elif status is DeliveryStatus.UNCONFIRMED:
            await self.report_unconfirmed([(job_label(job), target.name)])
        else:
            await self.alerts.failed(job, target, attempt.claim.attempt, self.retry.attempts, detail, attempt.episode)
        return Outcome(job.key, target.id, target.name, job.at, status, detail, note)

    def _sender(self) -> Sender:
        return Sender(self.store, self.clock, self.retry, self.sleep, self.hooks.relay_failed)

    def _broadcasts(self) -> Broadcasts:
        # Imported with the first broadcast job: clip production is no part of an idle daemon's start.
        from bot.broadcasting import Broadcasts

        return Broadcasts(self.current(), self.producer, self.channel, self.clock, self.alert, self._episodes)

    async def recover_interrupted(self) -> None:
        """Record interrupted deliveries that could not be recorded when they happened (the database was down)."""
        unconfirmed = self._interrupted.recover()
        if unconfirmed:
            await self.report_unconfirmed([self.describe(k, t) for k, t in unconfirmed])

    def describe(self, key: str, target_id: str) -> tuple[str, str]:
        """(what, to whom) as the admins say it, for a delivery known only by its keys."""
        job = self.current().plan.by_key().get(key)
        if job is None:
            return key, target_id
        names = {t.id: t.name for t in job.targets}
        return job_label(job), names.get(target_id, target_id)

    async def prepare(self, job: PlannedJob) -> list[Clip]:
        """Produce a broadcast job's clips ahead of delivery (into the producer's cache); sends nothing, claims
        nothing. A failure here is logged and tried again at delivery, which falls back to the script."""
        if job.broadcast is None or self.producer is None:
            return []
        return await self._broadcasts().prepare(job, self.facts_for(job))

    async def _fail_unclaimed(self, job: PlannedJob, target: Target, error: str) -> Outcome:
        claim = self.store.claim(job.key, target.id, job.at, self.clock.now(), self.runner)
        if claim is None:
            return self._recorded(job.key, target, job.at)
        self.store.mark_failed(claim, self.clock.now(), error)
        await self.alerts.failed(job, target, claim.attempt, 0, error)
        return Outcome(job.key, target.id, target.name, job.at, DeliveryStatus.FAILED, error)

    def _settle(self, job: PlannedJob, target: Target, status: DeliveryStatus, detail: str) -> Outcome:
        if self.store.settle(job.key, target.id, status, job.at, self.clock.now(), detail):
            return Outcome(job.key, target.id, target.name, job.at, status, detail)
        return self._recorded(job.key, target, job.at)

    def _recorded(self, key: str, target: Target, at: datetime) -> Outcome:
        """What an earlier run left for (key, target): its record, or SENDING while its claimant holds it."""
        record = self.store.get(key, target.id)
        status = record.status if record else DeliveryStatus.SENDING
        detail = record.detail if record else ""
        return Outcome(key, target.id, target.name, at, status, detail, fresh=False)

    def record_missed(self, job: PlannedJob, why: str) -> list[Outcome]:
        """Its time passed beyond the grace period: record each unsettled target as MISSED (never sent late)."""
        return [self._settle(job, t, DeliveryStatus.MISSED, why) for t in job.targets]

    # --- alerts to the admins (`bot.alerts`) ------------------------------------------------------------------

    async def alert(self, alert: Alert) -> None:
        """Tell every admin, once per key; see `Alerter.alert`."""
        await self.alerts.alert(alert)

    async def flush_alerts(self) -> None:
        """Outside quiet hours, send the alerts kept over them (see `Alerter.flush`)."""
        await self.alerts.flush()

    async def report_missed(self, missed: Iterable[tuple[PlannedJob, list[Outcome]]], grace: timedelta) -> None:
        """Tell the admins which deliveries were recorded MISSED just now (`record_missed`'s fresh outcomes)."""
        await self.alerts.missed(missed, grace)

    async def report_unconfirmed(self, rows: list[tuple[str, str]]) -> None:
        await self.alerts.unconfirmed(rows)

    async def _send_alert(self, admin: Target, text: str, key: str) -> Outcome:
        return await self.send_now(admin, text, key, tries=1, priority=SendPriority.ALERT)

    async def send_now(
        self,
        target: Target,
        text: str,
        key: str,
        file: OutgoingFile | None = None,
        *,
        tries: int = 1,
        priority: SendPriority = SendPriority.PLANNED,
    ) -> Outcome:
        """A one-off message (`laba send`, replies, alerts): claimed under its own key like any other and sent by the
        same claim → send → record path, so it goes out once. With a file, the file goes first, then the text (if
        any). `priority` tells a paced channel whose budget the send spends (replies: `SendPriority.REPLY`)."""
        now = self.clock.now()
        self.heartbeat()
        claim = self.store.claim(key, target.id, now, now, self.runner)
        if claim is None:
            return self._recorded(key, target, now)
        attempt = Attempt(self.store, self.clock, self._wire, claim)

        async def send() -> str:
            message_id = ""
            if file is not None:
                message_id = await self.channel.send_file(target, file, handoff=attempt.handoff)
                attempt.partly_sent = True
            if text:
                message_id = await self.channel.send_text(target, text, handoff=attempt.handoff)
            return message_id

        token = send_priority.set(priority)
        try:
            status, detail = await self._sender().attempts(attempt, send, f"{key} → {target.id}", tries=tries)
        except BaseException as exc:
            self._interrupted.abandon(attempt, exc)
            raise
        finally:
            send_priority.reset(token)
        if self.hooks.batch_done is not None:
            await self.hooks.batch_done()
        return Outcome(key, target.id, target.name, now, status, detail)

    # --- stopping ---------------------------------------------------------------------------------------------

    async def stop(self, wait_seconds: float) -> None:
        """Begin shutting down: claim nothing more, and wait (at most `wait_seconds`) for the messages already
        handed to the network to be answered. Deliveries still waiting before the network (pacing) are then
        cancelled by the caller and recorded RELEASED, to be sent by the next start."""
        self._stopping = True
        self._open.set()  # wake deliveries waiting on #暂停, so they see the stop instead of hanging
        try:
            async with asyncio.timeout(wait_seconds):
                await self._wire.drained()
        except TimeoutError:
            log.warning("停止时还有 %d 条消息在发送途中，等了 %.0f 秒", len(self._wire.attempts), wait_seconds)

    @property
    def stopping(self) -> bool:
        return self._stopping
